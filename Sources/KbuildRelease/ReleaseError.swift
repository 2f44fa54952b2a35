import KbuildCore

/// Failures of the release steps (staging, packing, checksums, locking).
public enum ReleaseError: Error, CustomStringConvertible, Equatable {
    case missingInput(path: String, what: String)
    case unsafeInput(path: String, reason: String)
    case missingAddonLabel(path: String)
    case conflict(String)
    case missingBuildOutput(path: String)
    case locked(path: String, holder: String)
    case io(path: String, reason: String)
    /// A flag or environment variable (`culprit`) with a value kbuild cannot use.
    case invalidSetting(culprit: String, value: String, problem: String, allowed: String)

    public var description: String {
        switch self {
        case .missingInput(let path, let what):
            return "\(path): missing \(what)"
        case .unsafeInput(let path, let reason):
            return "\(path): \(reason)"
        case .missingAddonLabel(let path):
            return
                "\(path): add-on manifest lacks the label kubernetes.io/cluster-service: \"true\" (or addonmanager.kubernetes.io/mode); add it, or exclude the file with addons.exclude"
        case .conflict(let message):
            return message
        case .missingBuildOutput(let path):
            return "\(path) does not exist: run `kbuild build` first, or drop --skip-build"
        case .locked(let path, let holder):
            return "another kbuild release is running on this _output (\(holder)); lock: \(path)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .invalidSetting(let culprit, let value, let problem, let allowed):
            let shown = value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
            return "\(culprit) \"\(shown)\": \(problem); allowed: \(allowed)"
        }
    }
}
