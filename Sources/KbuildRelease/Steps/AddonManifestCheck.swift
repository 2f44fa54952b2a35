import Foundation
import KbuildCore
import Yams

/// Parses an add-on manifest and requires the cluster add-on label on every object in it.
///
/// YAML files are parsed document by document (`---`), JSON files as strict JSON (RFC 8259). Each
/// object must carry `kubernetes.io/cluster-service: "true"` or `addonmanager.kubernetes.io/mode`
/// under `metadata.labels`; the objects of a `List` are checked one by one instead of the List itself
/// (the add-on manager selects the items by label). In a `.yaml.in` template, `{{ … }}` expressions
/// are read as plain values and `{% … %}` lines skipped, so the template around them is checked.
enum AddonManifestCheck {
    /// A parsed value, only as much as the label check needs.
    indirect enum Value: Equatable {
        case map([String: Value])
        case list([Value])
        case scalar(String)
        case null
    }

    /// Checks `path` (shown as `displayPath` in errors).
    static func check(_ path: String, displayPath: String) throws(ReleaseError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw .unsafeInput(
                path: displayPath, reason: "not readable as UTF-8 text; allowed: YAML or JSON add-on manifests")
        }
        let documents: [Value]
        if path.hasSuffix(".json") {
            documents = [try JSONReader.parse(Array(text.utf8), displayPath: displayPath)]
        } else {
            documents = try yamlDocuments(
                path.hasSuffix(".yaml.in") ? untemplated(text) : text, displayPath: displayPath)
        }
        let counted = documents.filter { $0 != .null }.count > 1
        for (index, document) in documents.enumerated() where document != .null {
            let which = counted ? " (document \(index + 1))" : ""
            if case .map(let object) = document, object["kind"] == .scalar("List"),
                case .list(let items)? = object["items"]
            {
                for (item, value) in items.enumerated() where !hasLabel(value) {
                    throw .missingAddonLabel(
                        path: displayPath + (counted ? " (document \(index + 1), items[\(item)])" : " (items[\(item)])")
                    )
                }
            } else if !hasLabel(document) {
                throw .missingAddonLabel(path: displayPath + which)
            }
        }
    }

    static func hasLabel(_ object: Value) -> Bool {
        guard case .map(let fields) = object, case .map(let metadata)? = fields["metadata"],
            case .map(let labels)? = metadata["labels"]
        else { return false }
        return labels["kubernetes.io/cluster-service"] == .scalar("true")
            || labels["addonmanager.kubernetes.io/mode"] != nil
    }

    /// Every document of a YAML stream; a parse error names the document and Yams' line and column.
    static func yamlDocuments(_ text: String, displayPath: String) throws(ReleaseError) -> [Value] {
        var documents: [Value] = []
        do {
            let parser = try Parser(yaml: text)
            while let root = try parser.nextRoot() { documents.append(value(of: root)) }
        } catch {
            var (line, column, problem) = (1, 1, "\(error)")
            if let yaml = error as? YamlError {
                switch yaml {
                case let .scanner(_, message, mark, _), let .parser(_, message, mark, _),
                    let .composer(_, message, mark, _):
                    (line, column, problem) = (mark.line, mark.column, message)
                default: break
                }
            }
            throw .invalidManifest(
                path: displayPath, document: documents.count + 1, line: line, column: column,
                problem: "malformed YAML: \(problem)")
        }
        return documents
    }

    static func value(of node: Node) -> Value {
        switch node {
        case .scalar(let scalar):
            // An empty document (only comments after `---`) is an empty plain scalar: nothing to check.
            let empty = scalar.string.isEmpty && scalar.style == .plain
            return empty || scalar.tag.rawValue == Tag.Name.null.rawValue ? .null : .scalar(scalar.string)
        case .sequence(let sequence):
            return .list(sequence.map { value(of: $0) })
        case .mapping(let mapping):
            var fields: [String: Value] = [:]
            for (key, item) in mapping { if let name = key.scalar?.string { fields[name] = value(of: item) } }
            return .map(fields)
        case .alias:
            return .null
        }
    }

    /// A `.yaml.in` template with `{{ … }}` replaced by a plain value and `{% … %}` lines blanked
    /// (kept as empty lines, so line numbers stay true).
    static func untemplated(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("{%") { return "" }
            var result = String(line)
            while let open = result.range(of: "{{"),
                let close = result.range(of: "}}", range: open.upperBound..<result.endIndex)
            {
                result.replaceSubrange(open.lowerBound..<close.upperBound, with: "TEMPLATE")
            }
            return result
        }.joined(separator: "\n")
    }
}

/// Strict JSON (RFC 8259) with line and column of the first error: no trailing commas, no comments.
private struct JSONReader {
    let bytes: [UInt8]
    var index = 0

    static func parse(_ bytes: [UInt8], displayPath: String) throws(ReleaseError) -> AddonManifestCheck.Value {
        var reader = JSONReader(bytes: bytes)
        do throws(JSONProblem) {
            let value = try reader.value()
            reader.skipSpace()
            guard reader.index == bytes.count else {
                throw JSONProblem(message: "unexpected text after the JSON value", at: reader.index)
            }
            return value
        } catch {
            let before = bytes[..<min(error.at, bytes.count)]
            let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
            let column = before.count - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            throw .invalidManifest(
                path: displayPath, document: 1, line: line, column: column, problem: "malformed JSON: \(error.message)")
        }
    }

    struct JSONProblem: Error {
        var message: String
        var at: Int
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func expect(_ literal: String) throws(JSONProblem) {
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else {
                throw JSONProblem(message: "invalid value (expected \(literal))", at: index)
            }
            index += 1
        }
    }

    /// After an item of an object or array: true at `close` (consumed), false at a comma (consumed).
    mutating func closes(_ close: Unicode.Scalar) throws(JSONProblem) -> Bool {
        skipSpace()
        guard index < bytes.count else {
            throw JSONProblem(message: "unexpected end of file (an unclosed \(close == "}" ? "{" : "[")?)", at: index)
        }
        if bytes[index] == UInt8(ascii: close) {
            index += 1
            return true
        }
        guard bytes[index] == UInt8(ascii: ",") else {
            throw JSONProblem(message: "expected , or \(close)", at: index)
        }
        index += 1
        return false
    }

    mutating func value() throws(JSONProblem) -> AddonManifestCheck.Value {
        skipSpace()
        guard index < bytes.count else {
            throw JSONProblem(message: "unexpected end of file (an unclosed { or [?)", at: index)
        }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var fields: [String: AddonManifestCheck.Value] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .map(fields)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw JSONProblem(
                        message: index < bytes.count ? "expected a \"key\"" : "unexpected end of file (an unclosed {?)",
                        at: index)
                }
                let key = try string()
                skipSpace()
                try expect(":")
                fields[key] = try value()
                if try closes("}") { return .map(fields) }
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [AddonManifestCheck.Value] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .list(items)
            }
            while true {
                items.append(try value())
                if try closes("]") { return .list(items) }
            }
        case UInt8(ascii: "\""):
            return .scalar(try string())
        case UInt8(ascii: "t"):
            try expect("true")
            return .scalar("true")
        case UInt8(ascii: "f"):
            try expect("false")
            return .scalar("false")
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        default:
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard !text.isEmpty,
                text.range(of: #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"#, options: .regularExpression) != nil
            else { throw JSONProblem(message: "invalid value", at: start) }
            return .scalar(text)
        }
    }

    /// A string starting at the opening quote; escapes are checked, the label check needs no more.
    mutating func string() throws(JSONProblem) -> String {
        let start = index
        index += 1
        var result: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: result, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { break }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count,
                        let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                    else { throw JSONProblem(message: "invalid \\u escape", at: index) }
                    index += 4
                    result += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                case UInt8(ascii: "n"): result.append(0x0A)
                case UInt8(ascii: "t"): result.append(0x09)
                case UInt8(ascii: "r"): result.append(0x0D)
                case UInt8(ascii: "b"): result.append(0x08)
                case UInt8(ascii: "f"): result.append(0x0C)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(escaped)
                default: throw JSONProblem(message: "invalid escape", at: index - 1)
                }
            default:
                guard byte >= 0x20 else { throw JSONProblem(message: "control character in a string", at: index - 1) }
                result.append(byte)
            }
        }
        throw JSONProblem(message: "unterminated string", at: start)
    }
}
