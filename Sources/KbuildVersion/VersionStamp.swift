/// One of kbuild's version fields, as named in the release config's `version.variables`.
public enum VersionField: String, Sendable, Codable, CaseIterable {
    case version, commit, treeState, buildDate, major, minor
    /// The version without its leading `v` (`1.30.0`), what many tools' `main.version` holds.
    case bareVersion
}

/// Which Go string variables receive which version fields through `-X <package>.<variable>=<value>`.
public struct VersionStamp: Sendable, Hashable, Codable {
    /// One `-X` target: `field` goes into `package.variable`.
    public struct Assignment: Sendable, Hashable, Codable {
        public var field: VersionField
        /// An import path, or `main` for the main package of every binary.
        public var package: String
        /// The variable's name in that package.
        public var variable: String

        public init(field: VersionField, package: String, variable: String) {
            self.field = field
            self.package = package
            self.variable = variable
        }

        /// `package.variable`, as `-X` names it.
        public var target: String { package + "." + variable }
    }

    /// In the order the flags are written.
    public var assignments: [Assignment]

    public init(_ assignments: [Assignment]) {
        self.assignments = assignments
    }

    /// Kubernetes' six variables of `pkg/version/base.go`, in hack/lib/version.sh's order.
    public static func kubernetes(package: String) -> VersionStamp {
        let names: [(VersionField, String)] = [
            (.buildDate, "buildDate"), (.commit, "gitCommit"), (.treeState, "gitTreeState"),
            (.version, "gitVersion"), (.major, "gitMajor"), (.minor, "gitMinor"),
        ]
        return VersionStamp(names.map { Assignment(field: $0.0, package: package, variable: $0.1) })
    }

    /// Every `package.variable` kbuild stamps: user ldflags must not set these (they would fight the release's).
    public var ownedVariables: [String] { assignments.map(\.target) }

    /// The distinct packages written to, in first-use order.
    public var packages: [String] {
        var seen = Set<String>()
        return assignments.map(\.package).filter { seen.insert($0).inserted }
    }

    /// Splits `example.com/mod/version.Version` (or `main.version`) at the dot after the last `/`;
    /// nil when there is no such dot or either side is empty.
    public static func split(_ target: String) -> (package: String, variable: String)? {
        let lastSlash = target.lastIndex(of: "/").map { target.index(after: $0) } ?? target.startIndex
        guard let dot = target[lastSlash...].lastIndex(of: ".") else { return nil }
        let package = String(target[..<dot])
        let variable = String(target[target.index(after: dot)...])
        guard !package.isEmpty, !variable.isEmpty else { return nil }
        return (package, variable)
    }
}

extension VersionInfo {
    /// The value of `field` for this version.
    public func value(of field: VersionField) -> String {
        switch field {
        case .version: version
        case .commit: commit
        case .treeState: treeState
        case .buildDate: buildDate
        case .major: major
        case .minor: minor
        case .bareVersion: version.hasPrefix("v") ? String(version.dropFirst()) : version
        }
    }

    /// Whether `field` is stamped. Like hack/lib/version.sh, unknown values are left out so the binary keeps
    /// its own defaults: commit and tree state need a commit, major and minor need both.
    func stamps(_ field: VersionField) -> Bool {
        switch field {
        case .buildDate: true
        case .commit, .treeState: !commit.isEmpty
        case .version, .bareVersion: !version.isEmpty
        case .major, .minor: !major.isEmpty && !minor.isEmpty
        }
    }

    /// The `(package.variable, value)` pairs `stamp` writes, in its order.
    public func assignments(_ stamp: VersionStamp) -> [(target: String, value: String)] {
        stamp.assignments.filter { stamps($0.field) }.map { ($0.target, value(of: $0.field)) }
    }

    /// The stamped values that tell one build from another — the version (either form), the build date, the
    /// commit — as `(variable, value)`, in that order: what a binary of this release must carry
    /// (`--skip-build`'s check). Empty when `stamp` writes none of them (`version.variables: {}`).
    public func identifyingValues(_ stamp: VersionStamp) -> [(variable: String, value: String)] {
        let order: [VersionField] = [.version, .bareVersion, .buildDate, .commit]
        return order.flatMap { field in
            stamp.assignments.filter { $0.field == field && stamps(field) }.map { ($0.variable, value(of: field)) }
        }
    }

    /// The `-X` flags for `go build -ldflags`, as separate arguments.
    public func ldflags(_ stamp: VersionStamp) -> [String] {
        assignments(stamp).flatMap { ["-X", "\($0.target)=\($0.value)"] }
    }

    /// The same flags as one string ready for `go build -ldflags`, each value quoted.
    public func ldflagsString(_ stamp: VersionStamp) -> String {
        assignments(stamp).map { pair in
            let assignment = "\(pair.target)=\(pair.value)"
            // Go splits -ldflags on spaces, honouring '…' and "…" without escapes.
            let quote = assignment.contains("'") ? "\"" : "'"
            return "-X \(quote)\(assignment)\(quote)"
        }.joined(separator: " ")
    }
}
