import KbuildCore

/// Failures of the release steps (staging, packing, checksums, locking).
public enum ReleaseError: Error, CustomStringConvertible, Equatable {
    case missingInput(path: String, what: String)
    case unsafeInput(path: String, reason: String)
    case missingAddonLabel(path: String)
    /// An add-on manifest that does not parse: its document (1-based) and the line and column.
    case invalidManifest(path: String, document: Int, line: Int, column: Int, problem: String)
    case conflict(String)
    case missingBuildOutput(path: String)
    case locked(path: String, holder: String)
    /// `--skip-build` found a binary stamped for another version (or not stamped by kbuild).
    case stampMismatch(binary: String, path: String, variable: String, expected: String, version: String)
    case io(path: String, reason: String)
    /// A flag or environment variable (`culprit`) with a value kbuild cannot use.
    case invalidSetting(culprit: String, value: String, problem: String, allowed: String)
    /// A shard that cannot be merged: which one (its directory) and why.
    case shard(path: String, problem: String)

    /// One line whatever the paths and values in it hold.
    public var description: String { Escaping.oneLine(text) }

    private var text: String {
        switch self {
        case .missingInput(let path, let what):
            return "\(path): missing \(what)"
        case .unsafeInput(let path, let reason):
            return "\(path): \(reason)"
        case .missingAddonLabel(let path):
            return
                "\(path): add-on manifest lacks the label kubernetes.io/cluster-service: \"true\" (or addonmanager.kubernetes.io/mode); add it, or exclude the file with addons.exclude"
        case .invalidManifest(let path, let document, let line, let column, let problem):
            return
                "\(path):\(line):\(column): document \(document): \(problem); allowed: YAML (every document of a multi-document file) or JSON add-on manifests, or exclude the file with addons.exclude"
        case .conflict(let message):
            return message
        case .missingBuildOutput(let path):
            return "\(path) does not exist: run `kbuild build` first, or drop --skip-build"
        case .locked(let path, let holder):
            return "another kbuild release is running on this _output (\(holder)); lock: \(path)"
        case .stampMismatch(let binary, let path, let variable, let expected, let version):
            return
                "\(binary) (\(path)) is not stamped with this release's version: its \(variable) is not \(Escaping.shown(expected)); allowed: binaries built by kbuild build for \(version) (run kbuild build, or drop --skip-build)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .invalidSetting(let culprit, let value, let problem, let allowed):
            return "\(culprit) \(Escaping.shown(value)): \(problem); allowed: \(allowed)"
        case .shard(let path, let problem):
            return "shard \(path): \(problem)"
        }
    }
}
