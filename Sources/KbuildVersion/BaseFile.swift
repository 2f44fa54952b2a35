/// The version defaults compiled into a binary: a `base.go`-style Go file with
/// `gitVersion`, `gitCommit` and `gitTreeState` string variables or constants.
public struct BaseFile: Sendable, Hashable {
    /// One string definition found in the file.
    public struct Definition: Sendable, Hashable {
        /// The string's value, escapes interpreted.
        public var value: String
        /// 1-based line number.
        public var line: Int
        /// Unicode-scalar offsets of the literal (quotes included) within its line.
        public var literal: Range<Int>
    }

    /// The names read, in Kubernetes' pkg/version/base.go.
    public static let names = ["gitVersion", "gitCommit", "gitTreeState"]

    /// Definitions by name (`gitVersion`, `gitCommit`, `gitTreeState`).
    public var definitions: [String: Definition]

    /// `gitVersion`'s value, if defined.
    public var gitVersion: String? { definitions["gitVersion"]?.value }
    /// `gitCommit`'s value, if defined.
    public var gitCommit: String? { definitions["gitCommit"]?.value }
    /// `gitTreeState`'s value, if defined.
    public var gitTreeState: String? { definitions["gitTreeState"]?.value }

    /// Reads the definitions from Go source, line by line: `[var|const] NAME [TYPE] = "…"` or `` `…` ``
    /// in a `var (…)`/`const (…)` block or on its own line, optionally followed by `;` or a comment.
    /// Other lines are ignored; a definition whose value is not a string literal is an error.
    public static func parse(_ text: String, path: String) throws(VersionError) -> BaseFile {
        var definitions: [String: Definition] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, line) in lines.enumerated() {
            let number = offset + 1
            guard let found = try definition(in: Array(line.unicodeScalars), path: path, line: number) else {
                continue
            }
            if let first = definitions[found.name] {
                throw .syntax(
                    path: path, line: number, message: "\(found.name) is defined twice (first on line \(first.line))")
            }
            definitions[found.name] = found.definition
        }
        return BaseFile(definitions: definitions)
    }

    /// `text` with the `gitVersion` literal replaced by `"version"`; everything else byte for byte.
    public static func settingVersion(_ version: String, in text: String, path: String) throws(VersionError) -> String {
        let file = try parse(text, path: path)
        guard let definition = file.definitions["gitVersion"] else { throw .baseFileWithoutVersion(path: path) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let scalars = Array(lines[definition.line - 1].unicodeScalars)
        var replaced = String.UnicodeScalarView()
        replaced.append(contentsOf: scalars[..<definition.literal.lowerBound])
        replaced.append(contentsOf: goQuote(version).unicodeScalars)
        replaced.append(contentsOf: scalars[definition.literal.upperBound...])
        lines[definition.line - 1] = String(replaced)
        return lines.joined(separator: "\n")
    }

    /// A Go interpreted string literal for `value`.
    static func goQuote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    // MARK: - Line parsing

    private static func definition(in line: [Unicode.Scalar], path: String, line number: Int) throws(VersionError)
        -> (name: String, definition: Definition)?
    {
        var index = 0
        func skipSpace() {
            while index < line.count, line[index] == " " || line[index] == "\t" || line[index] == "\r" { index += 1 }
        }
        func identifier() -> String? {
            let start = index
            guard index < line.count, isIdentifierStart(line[index]) else { return nil }
            while index < line.count, isIdentifierStart(line[index]) || ("0"..."9").contains(line[index]) {
                index += 1
            }
            return String(String.UnicodeScalarView(line[start..<index]))
        }
        skipSpace()
        guard var name = identifier() else { return nil }
        if name == "var" || name == "const" {
            let before = index
            skipSpace()
            guard index > before, let declared = identifier() else { return nil }
            name = declared
        }
        guard names.contains(name) else { return nil }
        func fail(_ message: String) -> VersionError { .syntax(path: path, line: number, message: message) }
        skipSpace()
        if index < line.count, isIdentifierStart(line[index]) {
            _ = identifier()  // the type, e.g. `string`
            skipSpace()
        }
        // Only `NAME [TYPE] = …` defines; `NAME := …`, `NAME, other = …` or a use of NAME are not ours.
        guard index < line.count, line[index] == "=", index + 1 >= line.count || line[index + 1] != "=" else {
            return nil
        }
        index += 1
        skipSpace()
        let start = index
        let value: String
        if index < line.count, line[index] == "`" {
            guard let close = line[(index + 1)...].firstIndex(of: "`") else {
                throw fail("\(name): unterminated raw string (multi-line strings are not supported)")
            }
            value = String(String.UnicodeScalarView(line[(index + 1)..<close]))
            index = close + 1
        } else if index < line.count, line[index] == "\"" {
            (value, index) = try interpreted(line, from: index, name: name, fail: fail)
        } else {
            throw fail("\(name) must be set to a string literal, like \(name) = \"v0.5-dev\"")
        }
        let literal = start..<index
        skipSpace()
        if index < line.count, line[index] == ";" {
            index += 1
            skipSpace()
        }
        let rest = line[index...]
        guard rest.isEmpty || rest.starts(with: ["/", "/"]) || rest.starts(with: ["/", "*"]) else {
            throw fail("\(name): unexpected text after the string literal: only a comment may follow")
        }
        return (name, Definition(value: value, line: number, literal: literal))
    }

    /// Decodes a Go interpreted string literal starting at the opening quote.
    private static func interpreted(
        _ line: [Unicode.Scalar], from start: Int, name: String, fail: (String) -> VersionError
    ) throws(VersionError) -> (String, Int) {
        var bytes: [UInt8] = []
        var index = start + 1
        func append(_ scalar: Unicode.Scalar) { bytes += Array(String(scalar).utf8) }
        func hex(_ count: Int) throws(VersionError) -> UInt32 {
            guard index + count <= line.count else { throw fail("\(name): truncated escape in string literal") }
            var value: UInt32 = 0
            for scalar in line[index..<(index + count)] {
                guard let digit = Int(String(scalar), radix: 16) else {
                    throw fail("\(name): bad hex digit '\(scalar)' in escape")
                }
                value = value * 16 + UInt32(digit)
            }
            index += count
            return value
        }
        while true {
            guard index < line.count else { throw fail("\(name): unterminated string literal") }
            let scalar = line[index]
            index += 1
            if scalar == "\"" { break }
            guard scalar == "\\" else {
                append(scalar)
                continue
            }
            guard index < line.count else { throw fail("\(name): unterminated string literal") }
            let escape = line[index]
            index += 1
            switch escape {
            case "a": bytes.append(0x07)
            case "b": bytes.append(0x08)
            case "f": bytes.append(0x0C)
            case "n": bytes.append(0x0A)
            case "r": bytes.append(0x0D)
            case "t": bytes.append(0x09)
            case "v": bytes.append(0x0B)
            case "\\": bytes.append(0x5C)
            case "\"": bytes.append(0x22)
            case "x": bytes.append(UInt8(try hex(2)))
            case "u", "U":
                let value = try hex(escape == "u" ? 4 : 8)
                guard let decoded = Unicode.Scalar(value) else {
                    throw fail("\(name): escape \\\(escape) names no Unicode character")
                }
                append(decoded)
            case "0"..."7":
                index -= 1
                var value: UInt32 = 0
                for _ in 0..<3 {
                    guard index < line.count, ("0"..."7").contains(line[index]) else {
                        throw fail("\(name): octal escapes take three digits")
                    }
                    value = value * 8 + (line[index].value - 0x30)
                    index += 1
                }
                guard value <= 0xFF else { throw fail("\(name): octal escape above \\377") }
                bytes.append(UInt8(value))
            default:
                throw fail("\(name): unknown escape \\\(escape) in string literal")
            }
        }
        guard let value = String(validating: bytes, as: UTF8.self) else {
            throw fail("\(name): the string is not valid UTF-8")
        }
        return (value, index)
    }

    private static func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
