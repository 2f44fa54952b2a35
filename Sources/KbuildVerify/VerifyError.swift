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
        case .unreadable(let path, let reason): return "\(Escaped.line(path)): \(reason)"
        case .incomparable(let a, let b, let reason):
            return "\(Escaped.line(a)) vs \(Escaped.line(b)): \(reason)"
        case .rebuild(let culprit, let reason): return "\(Escaped.line(culprit)): \(reason)"
        case .key(let path, let reason): return "\(Escaped.line(path)): \(reason)"
        }
    }
}

/// Keeps every reported value on one line: newlines and other control characters are escaped.
public enum Escaped {
    /// `text` with control characters written as `\n`, `\t` or `\u{…}`.
    public static func line(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
