import Foundation
import KbuildCore
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// HTTP/1.1 GET and PUT against a Bazel remote cache (`<base>/ac/<key>`, `<base>/cas/<sha256>`), with
/// bounded waits. Calls block the calling thread: the cache steps ask one key at a time, and the
/// transfers themselves run on URLSession's own threads.
public struct RemoteCacheClient: Sendable {
    /// The cache's base URL, without a trailing slash.
    public let base: String
    /// Longest wait for a connection or for the next bytes of an answer, in seconds (whole seconds:
    /// URLSession on Linux drops fractions).
    public let connectTimeout: Double
    /// Longest time one transfer may take in all, in seconds.
    public let transferTimeout: Double
    private let session: URLSession
    private let refuser = ChallengeRefuser()
    /// Sent as the Authorization header of every request (Basic from netrc, or a Bearer token); never printed.
    private let authorization: String?

    public init(base: String, connectTimeout: Double = 5, transferTimeout: Double = 300, authorization: String? = nil) {
        self.base = base
        self.authorization = authorization
        self.connectTimeout = connectTimeout
        self.transferTimeout = transferTimeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = connectTimeout
        configuration.timeoutIntervalForResource = transferTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpMaximumConnectionsPerHost = 4
        // A 401 is an answer (no credential or a wrong one), never a wait on FoundationNetworking's own auth.
        session = URLSession(configuration: configuration, delegate: refuser, delegateQueue: nil)
    }

    /// The body at `path` (e.g. `ac/<key>`), or nil when the server has none (404).
    public func get(_ path: String) throws(RemoteCacheError) -> Data? {
        let request = try makeRequest(path, method: "GET")
        let outcome = wait { done in
            session.dataTask(with: request) { data, response, error in
                done(Self.outcome(response, error, body: data ?? Data()))
            }
        }
        let (status, body) = try check(outcome, request)
        if status == 404 { return nil }
        guard status == 200 else { throw .status(method: "GET", url: url(path), code: status) }
        return body
    }

    /// Streams the body at `path` into `file` (created or replaced); false when the server has none (404).
    public func download(_ path: String, to file: String) throws(RemoteCacheError) -> Bool {
        let request = try makeRequest(path, method: "GET")
        let outcome = wait { done in
            session.downloadTask(with: request) { location, response, error in
                // URLSession removes `location` when this returns: move it now.
                var result = Self.outcome(response, error, body: Data())
                if case .answered(200, _) = result, let location {
                    do {
                        try? FileManager.default.removeItem(atPath: file)
                        try FileManager.default.moveItem(atPath: location.path, toPath: file)
                    } catch {
                        result = .localFailure("cannot move the download into place: \(Self.reason(error))")
                    }
                }
                done(result)
            }
        }
        let (status, _) = try check(outcome, request, file: file)
        if status == 404 { return false }
        guard status == 200 else { throw .status(method: "GET", url: url(path), code: status) }
        return true
    }

    /// PUTs `data` at `path`; any 2xx is success (201 created, 204 replaced, 200).
    public func put(_ path: String, data: Data, contentType: String = "application/octet-stream")
        throws(RemoteCacheError)
    {
        var request = try makeRequest(path, method: "PUT")
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        let outcome = wait { done in
            session.uploadTask(with: request, from: data) { body, response, error in
                done(Self.outcome(response, error, body: body ?? Data()))
            }
        }
        let (status, _) = try check(outcome, request)
        guard (200..<300).contains(status) else { throw .status(method: "PUT", url: url(path), code: status) }
    }

    /// PUTs the contents of `file` at `path`, streamed from disk.
    public func put(_ path: String, file: String) throws(RemoteCacheError) {
        var request = try makeRequest(path, method: "PUT")
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        let outcome = wait { done in
            session.uploadTask(with: request, fromFile: URL(fileURLWithPath: file)) { body, response, error in
                done(Self.outcome(response, error, body: body ?? Data()))
            }
        }
        let (status, _) = try check(outcome, request, file: file)
        guard (200..<300).contains(status) else { throw .status(method: "PUT", url: url(path), code: status) }
    }

    /// `<base>/<path>`.
    public func url(_ path: String) -> String { base + "/" + path }

    // MARK: - Plumbing

    private enum Outcome: Sendable {
        case answered(Int, Data)
        /// `detail`: libcurl's own one-line message when URLSession has no code for it (TLS trust, say).
        case failed(code: Int, domain: String, detail: String?)
        case localFailure(String)
    }

    private func makeRequest(_ path: String, method: String) throws(RemoteCacheError) -> URLRequest {
        guard let target = URL(string: url(path)) else {
            throw .unreachable(url: url(path), reason: "not a valid URL")
        }
        var request = URLRequest(
            url: target, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: connectTimeout)
        request.httpMethod = method
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        if path.hasPrefix("ac/") { request.setValue("application/json", forHTTPHeaderField: "Accept") }
        return request
    }

    private static func outcome(_ response: URLResponse?, _ error: (any Error)?, body: Data) -> Outcome {
        if let error {
            let ns = error as NSError
            return .failed(code: ns.code, domain: ns.domain, detail: NetworkMessages.libcurl(ns))
        }
        guard let http = response as? HTTPURLResponse else {
            return .failed(code: URLError.badServerResponse.rawValue, domain: NSURLErrorDomain, detail: nil)
        }
        return .answered(http.statusCode, body)
    }

    private func check(_ outcome: Outcome, _ request: URLRequest, file: String? = nil) throws(RemoteCacheError)
        -> (Int, Data)
    {
        let address = request.url?.absoluteString ?? base
        switch outcome {
        case .answered(let status, let body):
            return (status, body)
        case .localFailure(let reason):
            throw .io(path: file ?? address, reason: reason)
        case .failed(let code, let domain, let detail):
            guard domain == NSURLErrorDomain else {
                throw .unreachable(
                    url: address, reason: "\(request.httpMethod ?? "request") failed (\(domain) \(code))")
            }
            let known = URLError.Code(rawValue: code).flatMap(describe)
            throw .unreachable(
                url: address, reason: known ?? detail.map { "network error: \($0)" } ?? "network error \(code)")
        }
    }

    /// URLSession's error codes in words (never Foundation's own text, which is not one clean line);
    /// nil for codes without a fixed meaning.
    private func describe(_ code: URLError.Code) -> String? {
        switch code {
        case .timedOut:
            return
                "no answer within \(Self.seconds(connectTimeout)) s (or the transfer took over \(Self.seconds(transferTimeout)) s)"
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

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    private static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain, let text = strerror(Int32(ns.code)) { return String(cString: text) }
        return "error \(ns.code)"
    }

    /// Starts a task and blocks until its completion handler reports.
    private func wait(_ start: (@escaping @Sendable (Outcome) -> Void) -> URLSessionTask) -> Outcome {
        let slot = Slot()
        let semaphore = DispatchSemaphore(value: 0)
        let task = start { outcome in
            slot.value.withLock { $0 = outcome }
            semaphore.signal()
        }
        task.resume()
        semaphore.wait()
        if let refused = refuser.take(task) { return .answered(refused.status, Data()) }
        return slot.value.withLock { $0 }
            ?? .failed(code: URLError.unknown.rawValue, domain: NSURLErrorDomain, detail: nil)
    }

    /// Where a completion handler leaves its outcome for the waiting thread.
    private final class Slot: Sendable {
        let value = Mutex<Outcome?>(nil)
    }
}
