/// Failures talking to a remote cache. Each is reported once, as one line, and the run goes on locally.
public enum RemoteCacheError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No answer: connection refused, unknown host, timeout, TLS failure, connection lost.
    case unreachable(url: String, reason: String)
    /// An answer the protocol does not allow here (a 500, a 403 on PUT, …).
    case status(method: String, url: String, code: Int)
    /// An answer kbuild will not take: a redirect, a body larger or shorter than declared, a record
    /// naming paths outside the workspace, a transfer past the time bound.
    case refused(url: String, reason: String)
    /// A local file could not be read or written while transferring it.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            return "\(url): \(reason)"
        case .status(let method, let url, let code):
            return "\(method) \(url): HTTP \(code)"
        case .refused(let url, let reason):
            return "\(url): \(reason)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
