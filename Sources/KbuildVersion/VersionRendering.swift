import Foundation

extension VersionInfo {
    /// How `kbuild version` prints a version.
    public enum Form: Sendable, Hashable {
        /// `name: value` lines, aligned.
        case fields
        /// The version alone.
        case short
        /// Pretty JSON with sorted keys.
        case json
        /// The `-X` flags of `stamp`, as one string for `go build -ldflags`.
        case ldflags(VersionStamp)
    }

    /// The version as `form` prints it (no trailing newline).
    public func rendered(_ form: Form) throws -> String {
        switch form {
        case .short:
            return version
        case .ldflags(let stamp):
            return ldflagsString(stamp)
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        case .fields:
            return [
                ("version", version), ("major", major), ("minor", minor), ("commit", commit),
                ("treeState", treeState), ("buildDate", buildDate), ("source", source.rawValue),
            ].map { name, value in
                "\(name):".padding(toLength: 12, withPad: " ", startingAt: 0) + value
            }.joined(separator: "\n")
        }
    }
}
