import Foundation
import KbuildCore
import KbuildImage
import KbuildVersion
import Yams

/// Typed access to YAML nodes: every failure names the file, line, column and field.
extension ConfigReader {
    typealias Entry = (key: Node, value: Node)

    static let kindList = ReleaseConfig.Kind.allCases.map(\.rawValue).joined(separator: ", ")
    static let fileNameRule = "letters, digits, '.', '_' and '-', starting with a letter or digit"

    func fail(_ node: Node, _ field: String, _ message: String) -> ConfigError {
        let mark = node.mark
        return .invalid(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, field: field, message: message)
    }

    func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return node.tag.rawValue == Tag.Name.null.rawValue }
        return false
    }

    /// What a node is, for "expected X, found Y" messages.
    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(scalar):
            return isNull(node) ? "nothing (null)" : "\"\(scalar.string)\""
        }
    }

    func mapping(_ node: Node, _ path: String, allowed: [String]) throws -> [String: Entry] {
        if isNull(node) { return [:] }
        guard case let .mapping(map) = node else {
            throw fail(
                node, path.isEmpty ? "(top level)" : path,
                "expected a mapping with keys \(allowed.joined(separator: ", ")), found \(describe(node))")
        }
        var result: [String: Entry] = [:]
        for (key, value) in map {
            let name = key.scalar?.string ?? ""
            let field = path.isEmpty ? name : "\(path).\(name)"
            guard case .scalar = key, allowed.contains(name) else {
                let shown = key.scalar.map { "\"\($0.string)\"" } ?? describe(key)
                throw fail(
                    key, field,
                    "unknown key \(shown)\(path.isEmpty ? "" : " in \(path)"); allowed: \(allowed.joined(separator: ", "))"
                )
            }
            result[name] = (key, value)
        }
        return result
    }

    func string(_ node: Node, _ path: String) throws -> String {
        guard case let .scalar(scalar) = node, !isNull(node) else {
            throw fail(node, path, "expected a string, found \(describe(node))")
        }
        return scalar.string
    }

    func bool(_ node: Node, _ path: String) throws -> Bool {
        guard case .scalar = node, node.tag.rawValue == Tag.Name.bool.rawValue, let value = node.bool else {
            throw fail(node, path, "expected true or false, found \(describe(node))")
        }
        return value
    }

    func sequence(_ node: Node, _ path: String, what: String) throws -> [Node] {
        if isNull(node) { return [] }
        guard case let .sequence(items) = node else {
            throw fail(node, path, "expected \(what), found \(describe(node))")
        }
        return Array(items)
    }

    /// A list of strings with each item's node and path.
    func stringList(_ node: Node, _ path: String) throws -> [(String, Node, String)] {
        try sequence(node, path, what: "a list of strings").enumerated().map { index, item in
            let itemPath = "\(path)[\(index)]"
            return (try string(item, itemPath), item, itemPath)
        }
    }

    func choice<E: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _: E.Type) throws -> E
    where E.RawValue == String {
        let text = try string(node, path)
        guard let value = E(rawValue: text) else {
            throw fail(
                node, path, "unknown value \"\(text)\"; allowed: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    func platform(_ text: String, _ node: Node, _ path: String) throws -> Platform {
        guard let platform = Platform(text) else {
            throw fail(
                node, path, "\"\(text)\" is not an os/arch platform; allowed: go tool dist list names like linux/amd64")
        }
        guard knownPlatforms.contains(platform) else {
            let sameOS = knownPlatforms.filter { $0.os == platform.os }.map(\.arch).sorted()
            let hint =
                sameOS.isEmpty
                ? "known operating systems: \(Set(knownPlatforms.map(\.os)).sorted().joined(separator: ", "))"
                : "known \(platform.os) architectures: \(sameOS.joined(separator: ", "))"
            throw fail(node, path, "unknown platform \(platform) (not in go tool dist list); \(hint)")
        }
        return platform
    }

    /// A workspace-relative path without `..`, normalized (no `./`, no trailing `/`).
    func workspacePath(_ node: Node, _ path: String) throws -> String {
        let text = try string(node, path)
        let parts = text.split(separator: "/").filter { $0 != "." }
        guard !text.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
            throw fail(node, path, "\"\(text)\" must be a path inside the workspace (relative, without ..)")
        }
        return parts.joined(separator: "/")
    }

    func isSafeFileName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 128 else { return false }
        let allowed = { (c: Unicode.Scalar) in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "." || c == "_" || c == "-")
        }
        return first.isASCII && CharacterSet.alphanumerics.contains(first) && name.unicodeScalars.allSatisfy(allowed)
    }

    func isFile(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && !directory.boolValue
    }

    func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}
