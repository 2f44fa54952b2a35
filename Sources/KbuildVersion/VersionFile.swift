/// The `KUBE_GIT_*` variables, as set in a version file or the environment; nil means unset.
public struct VersionVariables: Sendable, Hashable {
    public var commit: String?
    public var treeState: String?
    public var version: String?
    public var major: String?
    public var minor: String?

    /// Variables from their values.
    public init(
        commit: String? = nil, treeState: String? = nil, version: String? = nil, major: String? = nil,
        minor: String? = nil
    ) {
        self.commit = commit
        self.treeState = treeState
        self.version = version
        self.major = major
        self.minor = minor
    }

    /// The non-empty `KUBE_GIT_*` variables of `environment` (empty counts as unset, as in the shell `-n` tests).
    public init(environment: [String: String]) {
        func value(_ key: String) -> String? {
            guard let value = environment[key], !value.isEmpty else { return nil }
            return value
        }
        self.init(
            commit: value("KUBE_GIT_COMMIT"), treeState: value("KUBE_GIT_TREE_STATE"),
            version: value("KUBE_GIT_VERSION"), major: value("KUBE_GIT_MAJOR"), minor: value("KUBE_GIT_MINOR"))
    }

    /// True when no variable is set.
    public var isEmpty: Bool { self == VersionVariables() }
}

/// The version file (`KUBE_GIT_VERSION_FILE`): `KEY='value'` lines, as hack/lib/version.sh saves them.
public enum VersionFile {
    /// The keys, in the order they are written.
    public static let keys = [
        "KUBE_GIT_COMMIT", "KUBE_GIT_TREE_STATE", "KUBE_GIT_VERSION", "KUBE_GIT_MAJOR", "KUBE_GIT_MINOR",
    ]

    /// The file's text; unset variables are written empty, like `${VAR-}` in the shell.
    public static func render(_ variables: VersionVariables) -> String {
        let values = [variables.commit, variables.treeState, variables.version, variables.major, variables.minor]
        return zip(keys, values).map { "\($0)=\(quote($1 ?? ""))\n" }.joined()
    }

    /// Parses a version file strictly: each line is blank, a `#` comment, or `KEY='value'` with one of
    /// `keys`, the value single-quoted (`'\''` for a quote, as the shell writes it), each key at most once.
    /// Empty values count as unset.
    public static func parse(_ text: String, path: String) throws(VersionError) -> VersionVariables {
        var variables = VersionVariables()
        var seen: [String: Int] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, line) in lines.enumerated() {
            let number = offset + 1
            func fail(_ message: String) -> VersionError { .syntax(path: path, line: number, message: message) }
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.first == "#" { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw fail("expected KEY='value', got \(excerpt(line))")
            }
            let key = String(line[..<equals])
            guard keys.contains(key) else {
                throw fail("unknown key \(excerpt(key[...])): allowed \(keys.joined(separator: ", "))")
            }
            if let first = seen[key] { throw fail("\(key) is set twice (first on line \(first))") }
            seen[key] = number
            guard let value = unquote(line[line.index(after: equals)...]) else {
                throw fail(
                    "the value of \(key) must be single-quoted, like \(key)='v1.2.3' (a quote inside as '\\''), got \(excerpt(line[line.index(after: equals)...]))"
                )
            }
            let set: String? = value.isEmpty ? nil : value
            switch key {
            case "KUBE_GIT_COMMIT": variables.commit = set
            case "KUBE_GIT_TREE_STATE": variables.treeState = set
            case "KUBE_GIT_VERSION": variables.version = set
            case "KUBE_GIT_MAJOR": variables.major = set
            default: variables.minor = set
            }
        }
        return variables
    }

    /// `'value'`, with each `'` written as `'\''`.
    static func quote(_ value: String) -> String {
        "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// The inverse of `quote`: a sequence of `'…'` runs and `\'`, nothing else; nil if malformed.
    static func unquote(_ text: Substring) -> String? {
        var result = ""
        var rest = text
        guard !rest.isEmpty else { return nil }
        while let first = rest.first {
            if first == "'" {
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "'") else { return nil }
                result += rest[..<close]
                rest = rest[rest.index(after: close)...]
            } else if rest.hasPrefix("\\'") {
                result += "'"
                rest = rest.dropFirst(2)
            } else {
                return nil
            }
        }
        return result
    }

    private static func excerpt(_ text: Substring) -> String {
        let shown = text.prefix(60).map {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0.isPunctuation || $0.isSymbol || $0 == " ")
                ? String($0) : "?"
        }.joined()
        return "'" + shown + (text.count > 60 ? "…" : "") + "'"
    }
}
