import Foundation
import KbuildCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// HTTP/1.1 GET and PUT against a Bazel remote cache (`<base>/ac/<key>`, `<base>/cas/<sha256>`).
///
/// The server is untrusted: every request ends within `timeout` seconds in all (a server trickling a
/// byte at a time cannot hold a run), a body is read only up to the size the caller expects (into
/// memory up to a bound, or into a file descriptor the caller owns), and redirects are not followed (a
/// 3xx is an answer like a 500). Calls are `async`: the transfer runs on URLSession's own threads, the
/// calling task waits without holding a thread of the cooperative pool.
public struct RemoteCacheClient: Sendable {
    /// The cache's base URL, without a trailing slash.
    public let base: String
    /// Longest time one request may take in all, from connecting to its last byte, in seconds.
    public let timeout: Double
    /// Largest blob fetched; a record declaring a larger one is refused before anything is read.
    public let maxBlobBytes: Int64
    private let session: URLSession
    private let delegate: TransferDelegate

    /// Largest action record read (records hold digests and a small payload).
    public static let maxRecordBytes = 4 << 20
    /// Longest wait for a connection or for the next bytes of an answer, in seconds.
    public static let idleLimit: Double = 5

    /// The idle bound URLSession enforces: `idleLimit`, or past `timeout` when that is shorter, so the
    /// whole-transfer bound (which says how much came) is the one that ends a short run.
    private var idle: Double { Self.idle(for: timeout) }

    private static func idle(for timeout: Double) -> Double {
        timeout < idleLimit ? timeout + 1 : idleLimit
    }

    public init(base: String, timeout: Double = 30, maxBlobBytes: Int64 = 2 << 30) {
        self.base = base
        self.timeout = timeout
        self.maxBlobBytes = maxBlobBytes
        let configuration = URLSessionConfiguration.ephemeral
        // Whole seconds: URLSession on Linux drops fractions.
        configuration.timeoutIntervalForRequest = Self.idle(for: timeout).rounded(.up)
        configuration.timeoutIntervalForResource = timeout.rounded(.up) + 1
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpMaximumConnectionsPerHost = 4
        let delegate = TransferDelegate()
        self.delegate = delegate
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    /// The body at `path` (e.g. `ac/<key>`), at most `limit` bytes, or nil when the server has none (404).
    public func get(_ path: String, limit: Int = RemoteCacheClient.maxRecordBytes) async throws(RemoteCacheError)
        -> Data?
    {
        let request = try makeRequest(path, method: "GET")
        let transfer = Transfer(sink: .memory, limit: Int64(limit))
        let status = try await run(session.dataTask(with: request), transfer, request)
        if status == 404 { return nil }
        guard status == 200 else { throw .status(method: "GET", url: url(path), code: status) }
        let result = transfer.result
        if let stop = result.stopped { throw .refused(url: url(path), reason: stop) }
        return result.body
    }

    /// Streams the body at `path` into `fd` (the caller's, open for writing), never more than `size`
    /// bytes; returns how many a complete answer held (fewer than `size`: a truncated blob), or nil when
    /// the server has none (404). A connection lost mid-body is an error saying how far it came.
    public func download(_ path: String, into fd: CInt, size: Int64) async throws(RemoteCacheError) -> Int64? {
        let request = try makeRequest(path, method: "GET")
        let transfer = Transfer(sink: .file(fd), limit: size)
        let status: Int
        do {
            status = try await run(session.dataTask(with: request), transfer, request)
        } catch {
            // A connection lost in the middle of the body: say how far it came.
            let result = transfer.result
            guard result.status == 200, result.stopped == nil, case .unreachable(_, let reason) = error else {
                throw error
            }
            throw .refused(
                url: url(path),
                reason:
                    "the body ended after \(ByteCount.text(result.received)) of the \(ByteCount.text(size)) declared (\(reason))"
            )
        }
        if status == 404 { return nil }
        guard status == 200 else { throw .status(method: "GET", url: url(path), code: status) }
        let result = transfer.result
        if let stop = result.stopped { throw .refused(url: url(path), reason: stop) }
        return result.received
    }

    /// PUTs `data` at `path`; any 2xx is success (201 created, 204 replaced, 200).
    public func put(_ path: String, data: Data, contentType: String = "application/octet-stream")
        async throws(RemoteCacheError)
    {
        var request = try makeRequest(path, method: "PUT")
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        let status = try await run(session.uploadTask(with: request, from: data), Transfer.discard, request)
        guard (200..<300).contains(status) else { throw .status(method: "PUT", url: url(path), code: status) }
    }

    /// PUTs the contents of `file` at `path`, streamed from disk.
    public func put(_ path: String, file: String) async throws(RemoteCacheError) {
        var request = try makeRequest(path, method: "PUT")
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        let task = session.uploadTask(with: request, fromFile: URL(fileURLWithPath: file))
        let status = try await run(task, Transfer.discard, request, file: file)
        guard (200..<300).contains(status) else { throw .status(method: "PUT", url: url(path), code: status) }
    }

    /// `<base>/<path>`.
    public func url(_ path: String) -> String { base + "/" + path }

    // MARK: - Plumbing

    private func makeRequest(_ path: String, method: String) throws(RemoteCacheError) -> URLRequest {
        guard let target = URL(string: url(path)) else {
            throw .unreachable(url: url(path), reason: "not a valid URL")
        }
        var request = URLRequest(
            url: target, cachePolicy: .reloadIgnoringLocalCacheData,
            timeoutInterval: idle.rounded(.up))
        request.httpMethod = method
        if path.hasPrefix("ac/") { request.setValue("application/json", forHTTPHeaderField: "Accept") }
        return request
    }

    /// Runs `task` to its end, or cancels it when `timeout` passes or the calling task is cancelled;
    /// returns the status of the answer (a redirect is returned as it is, never followed).
    private func run(_ task: URLSessionTask, _ transfer: Transfer, _ request: URLRequest, file: String? = nil)
        async throws(RemoteCacheError) -> Int
    {
        let limit = timeout
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Transfer.Outcome, Never>) in
                transfer.waiting(continuation)
                delegate.register(task, transfer)
                task.resume()
                DispatchQueue.global().asyncAfter(deadline: .now() + limit) { [task] in
                    if transfer.stop(
                        "the transfer took over \(Self.seconds(limit)) s (\(ByteCount.text(transfer.result.received)) received)"
                    ) {
                        task.cancel()
                    }
                }
            }
        } onCancel: { [task] in
            if transfer.stop("the run was cancelled") { task.cancel() }
        }
        let address = request.url?.absoluteString ?? base
        if let stop = transfer.result.stopped, outcome.status == nil {
            throw .refused(url: address, reason: stop)
        }
        switch outcome {
        case .answered(let status, let location):
            if (300..<400).contains(status) {
                let target = location.map { " to " + Escaping.shown($0) } ?? ""
                throw .refused(
                    url: address,
                    reason: "HTTP \(status) redirect\(target); redirects are not followed: give the cache's own URL")
            }
            return status
        case .failed(let code, let domain, let detail):
            throw Self.failure(
                code: code, domain: domain, detail: detail, request: request, address: address, file: file, idle: idle)
        }
    }

    private static func failure(
        code: Int, domain: String, detail: String?, request: URLRequest, address: String, file: String?,
        idle: Double
    ) -> RemoteCacheError {
        guard domain == NSURLErrorDomain else {
            return .unreachable(url: address, reason: "\(request.httpMethod ?? "request") failed (\(domain) \(code))")
        }
        let known = URLError.Code(rawValue: code)
        if known == .fileDoesNotExist || known == .cannotOpenFile, let file {
            return .io(path: file, reason: "cannot read the file to upload")
        }
        let words = known.flatMap { describe($0, idle: idle) }
        return .unreachable(
            url: address, reason: words ?? detail.map { "network error: \($0)" } ?? "network error \(code)")
    }

    /// URLSession's error codes in words (never Foundation's own text, which is not one clean line);
    /// nil for codes without a fixed meaning.
    private static func describe(_ code: URLError.Code, idle: Double) -> String? {
        switch code {
        case .timedOut: return "no answer within \(seconds(idle)) s"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "unknown host"
        case .networkConnectionLost: return "connection lost"
        case .notConnectedToInternet: return "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return "TLS handshake failed (certificate not trusted or TLS error)"
        case .badServerResponse: return "not an HTTP answer"
        case .fileDoesNotExist, .cannotOpenFile: return "cannot read the file to upload"
        default: return nil
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
