import Foundation
import KbuildCore
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One request in flight: where its body goes, how much of it may come, and why it was stopped.
/// URLSession's delegate queue feeds it; the waiting task reads it when the request ends.
final class Transfer: Sendable {
    /// Where a 200 answer's body goes; other answers' bodies are dropped.
    enum Sink: Sendable {
        case memory
        /// A file descriptor the caller opened and closes.
        case file(CInt)
        case discard
    }

    /// How the request ended: an answer (its status and redirect target), or a failure URLSession named.
    enum Outcome: Sendable {
        case answered(Int, location: String?)
        case failed(code: Int, domain: String, detail: String?)

        var status: Int? {
            if case .answered(let status, _) = self { return status }
            return nil
        }
    }

    struct Result: Sendable {
        var status: Int?
        var location: String?
        var body = Data()
        var received: Int64 = 0
        /// Why kbuild ended the transfer (too long, too large, cancelled); nil when it was not ended.
        var stopped: String?
        var outcome: Outcome?
        var continuation: CheckedContinuation<Outcome, Never>?
    }

    let sink: Sink
    /// Most body bytes accepted: the size a record declares, or the bound of an in-memory answer.
    let limit: Int64
    private let state = Mutex(Result())

    init(sink: Sink, limit: Int64) {
        self.sink = sink
        self.limit = limit
    }

    /// A transfer whose answer is only a status (uploads).
    static var discard: Transfer { Transfer(sink: .discard, limit: 1 << 20) }

    var result: Result { state.withLock { $0 } }

    func waiting(_ continuation: CheckedContinuation<Outcome, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Ends the transfer for `reason` unless it ended already; true when the caller must cancel the task.
    func stop(_ reason: String) -> Bool {
        state.withLock { result in
            guard result.stopped == nil, result.outcome == nil else { return false }
            result.stopped = reason
            return true
        }
    }

    /// The answer's head; false when what it announces is already too much.
    func respond(status: Int, location: String?, length: Int64) -> Bool {
        let accepted = state.withLock { result -> Bool in
            result.status = status
            result.location = location
            return status != 200 || length <= limit
        }
        return accepted || !stop("the server announced \(ByteCount.text(length)), more than \(allowed)")
    }

    /// Takes the next bytes of the body; false when the transfer must end (too much, or a write failed).
    func receive(_ data: Data) -> Bool {
        let why = state.withLock { result -> String? in
            guard result.stopped == nil else { return "" }
            guard result.status == 200 else { return nil }
            guard result.received + Int64(data.count) <= limit else {
                return "the body passed \(allowed) (\(ByteCount.text(result.received + Int64(data.count))) received)"
            }
            result.received += Int64(data.count)
            switch sink {
            case .memory: result.body.append(data)
            case .discard: break
            case .file(let fd):
                if let failure = data.withUnsafeBytes({ FileDescriptorIO.writeAll(fd, $0) }) {
                    return "cannot write the download: \(String(cString: strerror(failure)))"
                }
            }
            return nil
        }
        guard let why else { return true }
        if !why.isEmpty { _ = stop(why) }
        return false
    }

    /// The request ended: wakes the waiting task (once).
    func complete(_ error: (any Error)?) {
        let (continuation, outcome) = state.withLock { result -> (CheckedContinuation<Outcome, Never>?, Outcome) in
            let outcome: Outcome
            if let error {
                let ns = error as NSError
                outcome = .failed(code: ns.code, domain: ns.domain, detail: Self.curlMessage(ns))
            } else {
                outcome = .answered(result.status ?? 0, location: result.location)
            }
            result.outcome = outcome
            defer { result.continuation = nil }
            return (result.continuation, outcome)
        }
        continuation?.resume(returning: outcome)
    }

    private var allowed: String {
        switch sink {
        case .file: return "the \(ByteCount.text(limit)) the record declares"
        case .memory, .discard: return "the \(ByteCount.text(limit)) an answer may hold here"
        }
    }

    /// The message libcurl gave (e.g. "SSL certificate problem: self-signed certificate"), found in the
    /// innermost error; only when it is one plain line, never a Foundation description.
    static func curlMessage(_ error: NSError) -> String? {
        var innermost = error
        while let underlying = innermost.userInfo[NSUnderlyingErrorKey] as? NSError { innermost = underlying }
        guard let text = innermost.userInfo[NSLocalizedDescriptionKey] as? String, !text.isEmpty, text.count < 200,
            !text.contains("Domain="), !text.contains("\n"), !text.contains("operation couldn")
        else { return nil }
        return text
    }
}

/// The session's delegate: hands each task's events to its `Transfer`, and refuses every redirect
/// (the 3xx is then the answer). State is behind a mutex; URLSession requires a class.
final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let transfers = Mutex<[Int: Transfer]>([:])

    func register(_ task: URLSessionTask, _ transfer: Transfer) {
        transfers.withLock { $0[task.taskIdentifier] = transfer }
    }

    private func transfer(_ task: URLSessionTask) -> Transfer? {
        transfers.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let http = response as? HTTPURLResponse
        let accepted =
            transfer(dataTask)?.respond(
                status: http?.statusCode ?? 0, location: http?.value(forHTTPHeaderField: "Location"),
                length: response.expectedContentLength) ?? true
        completionHandler(accepted ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if transfer(dataTask)?.receive(data) == false { dataTask.cancel() }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let transfer = transfers.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        transfer?.complete(error)
    }
}
