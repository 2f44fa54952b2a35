import KbuildCore

/// Failures of `kbuild publish`. Each prints as one line naming the image or file, what the registry or
/// server said (never a credential), and what is allowed; the local release is never touched.
public enum PublishError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The release failed `kbuild verify`: nothing is published.
    case unverified(directory: String, failures: [String])
    /// An image tarball of the release is not what kbuild writes (hostile or damaged input).
    case badImage(path: String, reason: String)
    /// The release does not say which version it is (no `.kube-git-version` in its source tarball).
    case noVersion(directory: String)
    /// A configured or given tag is not an OCI tag once rendered for `binary`.
    case badTag(binary: String, tag: String)
    /// The registry (or upload target) answered with an error status.
    case rejected(subject: String, method: String, url: String, status: Int, message: String)
    /// No answer: connection refused, unknown host, TLS failure, connection lost (after retries).
    case unreachable(subject: String, url: String, reason: String)
    /// The registry stored different bytes than kbuild sent.
    case digestMismatch(subject: String, expected: String, returned: String)
    /// A credentials file could not be read or parsed.
    case credentials(file: String, reason: String)
    /// A release file could not be read while sending it.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .unverified(let directory, let failures):
            let first = failures.first.map { ": " + Escaping.oneLine($0) } ?? ""
            return
                "\(Escaping.shown(directory)): the release fails kbuild verify (\(failures.count) failed checks)\(first); only a verified release is published"
        case .badImage(let path, let reason):
            return "\(Escaping.shown(path)): \(Escaping.oneLine(reason)); expected an image tarball written by kbuild"
        case .noVersion(let directory):
            return
                "\(Escaping.shown(directory)): the release records no version (no .kube-git-version in its -src tarball); pass --tag"
        case .badTag(let binary, let tag):
            return
                "\(binary): tag \(Escaping.shown(tag)) is not an OCI tag; allowed: [A-Za-z0-9_][A-Za-z0-9._-]{0,127} (publish.tags, --tag)"
        case .rejected(let subject, let method, let url, let status, let message):
            let said = message.isEmpty ? "" : ": \(Escaping.oneLine(message))"
            return "\(subject): \(method) \(url): HTTP \(status)\(said)"
        case .unreachable(let subject, let url, let reason):
            return "\(subject): \(url): \(reason)"
        case .digestMismatch(let subject, let expected, let returned):
            return
                "\(subject): the registry reports digest \(Escaping.shown(returned)) for what kbuild sent as \(expected); a registry must store the bytes it was given"
        case .credentials(let file, let reason):
            return
                "\(Escaping.shown(file)): \(Escaping.oneLine(reason)); expected {\"auths\": {\"<host>\": {\"auth\": \"<base64 user:password>\"}}}"
        case .io(let path, let reason):
            return "\(Escaping.shown(path)): \(Escaping.oneLine(reason))"
        }
    }
}
