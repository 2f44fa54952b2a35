import KbuildCore

/// What stops `kbuild verify` or `kbuild diff` before any check can report (bad input, not a failed check).
public enum VerifyError: Error, CustomStringConvertible, Equatable {
    /// The release directory or a file to compare does not exist or cannot be read.
    case unreadable(path: String, reason: String)
    /// `kbuild diff` was given two things of different kinds, or a kind it cannot compare.
    case incomparable(a: String, b: String, reason: String)
    /// `--rebuild` needs something the release or the workspace does not have.
    case rebuild(culprit: String, reason: String)
    /// `--key` is not a usable Ed25519 public key.
    case key(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(Escaping.oneLine(path)): \(reason)"
        case .incomparable(let a, let b, let reason):
            return "\(Escaping.oneLine(a)) vs \(Escaping.oneLine(b)): \(reason)"
        case .rebuild(let culprit, let reason): return "\(Escaping.oneLine(culprit)): \(reason)"
        case .key(let path, let reason): return "\(Escaping.oneLine(path)): \(reason)"
        }
    }
}
