import Foundation
import KbuildCore
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP answer: status, headers (looked up case-insensitively) and a bounded body.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// What a registry said, for an error line: its `errors[0].message` (Distribution's JSON), else a
    /// short plain-text body.
    var message: String {
        struct Errors: Decodable {
            struct Item: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [Item]?
        }
        if let item = (try? JSONDecoder().decode(Errors.self, from: body))?.errors?.first {
            return [item.code, item.message].compactMap { $0 }.joined(separator: ": ")
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.contains("<") ? "" : text
    }
}

/// HTTP over URLSession with bounded waits; calls block the calling thread (publishing runs them on
/// threads of their own), the transfers run on URLSession's threads.
struct HTTPTransport: Sendable {
    private let session: URLSession
    private let refuser = ChallengeRefuser()
    let connectTimeout: Double

    init(connectTimeout: Double = 30, transferTimeout: Double = 3600, connections: Int = 8) {
        self.connectTimeout = connectTimeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = connectTimeout
        configuration.timeoutIntervalForResource = transferTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.urlCredentialStorage = nil
        configuration.httpMaximumConnectionsPerHost = connections
        // kbuild answers challenges itself (the registry's WWW-Authenticate decides Basic or Bearer).
        session = URLSession(configuration: configuration, delegate: refuser, delegateQueue: nil)
    }

    /// Longest answer body kept: registries answer with small JSON; a blob is never read back.
    static let bodyLimit = 4 << 20

    /// Sends one request; a network failure is `.failure(reason)`, any HTTP status an answer.
    /// What a request sends: nothing, bytes in memory (small), or a file streamed from disk.
    enum Body: Sendable {
        case none
        case data(Data)
        case file(String)
    }

    func send(_ method: String, _ url: URL, headers: [String: String], body: Data?) -> Result<HTTPAnswer, Failure> {
        send(method, url, headers: headers, body: body.map(Body.data) ?? .none)
    }

    func send(_ method: String, _ url: URL, headers: [String: String], body: Body) -> Result<HTTPAnswer, Failure> {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: connectTimeout)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let slot = Slot()
        let semaphore = DispatchSemaphore(value: 0)
        let done: @Sendable (Data?, URLResponse?, (any Error)?) -> Void = { data, response, error in
            slot.value.withLock { $0 = Self.result(data, response, error) }
            semaphore.signal()
        }
        let task: URLSessionTask
        switch body {
        case .none: task = session.dataTask(with: request, completionHandler: done)
        case .data(let data): task = session.uploadTask(with: request, from: data, completionHandler: done)
        case .file(let path):
            task = session.uploadTask(with: request, fromFile: URL(fileURLWithPath: path), completionHandler: done)
        }
        task.resume()
        semaphore.wait()
        if let refused = refuser.take(task) {
            return .success(HTTPAnswer(status: refused.status, headers: refused.headers, body: Data()))
        }
        return slot.value.withLock { $0 } ?? .failure(Failure(reason: "no answer", retryable: true))
    }

    struct Failure: Error, Sendable {
        var reason: String
        /// A reset, a timeout, a refused connection: worth another try after a pause.
        var retryable: Bool
    }

    private final class Slot: Sendable {
        let value = Mutex<Result<HTTPAnswer, Failure>?>(nil)
    }

    private static func result(_ data: Data?, _ response: URLResponse?, _ error: (any Error)?) -> Result<
        HTTPAnswer, Failure
    > {
        if let error {
            let ns = error as NSError
            if let code = URLError.Code(rawValue: ns.code), let known = describe(code) { return .failure(known) }
            return .failure(
                Failure(
                    reason: NetworkMessages.libcurl(ns).map { "network error: \($0)" } ?? "network error \(ns.code)",
                    retryable: true))
        }
        guard let http = response as? HTTPURLResponse else {
            return .failure(Failure(reason: "not an HTTP answer", retryable: true))
        }
        return .success(
            HTTPAnswer(
                status: http.statusCode, headers: ChallengeRefuser.headers(of: http),
                body: (data ?? Data()).prefix(bodyLimit)))
    }

    /// URLSession's error codes in words (never Foundation's own text).
    private static func describe(_ code: URLError.Code) -> Failure? {
        switch code {
        case .timedOut: return Failure(reason: "no answer in time", retryable: true)
        case .cannotConnectToHost: return Failure(reason: "connection refused", retryable: true)
        case .networkConnectionLost: return Failure(reason: "connection lost", retryable: true)
        case .cannotFindHost, .dnsLookupFailed: return Failure(reason: "unknown host", retryable: false)
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return Failure(reason: "TLS handshake failed (certificate not trusted or TLS error)", retryable: false)
        case .badServerResponse: return Failure(reason: "not an HTTP answer", retryable: true)
        default: return nil
        }
    }
}
