import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A URLSession delegate that turns every 401 back into an answer, for clients that send credentials
/// themselves. FoundationNetworking on Linux otherwise waits forever on a 401 carrying a
/// `WWW-Authenticate` it has no credential for; here the challenge is cancelled and its status and
/// headers kept for the caller (`take`) to report or answer.
public final class ChallengeRefuser: NSObject, URLSessionTaskDelegate, Sendable {
    private let refused = Mutex<[Int: (status: Int, headers: [String: String])]>([:])

    public override init() { super.init() }

    public func urlSession(
        _ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
        completionHandler: @escaping @Sendable (URLSession.AuthChallengeDisposition, URLCredential?) -> Void
    ) {
        if let response = challenge.failureResponse as? HTTPURLResponse {
            let answer = (status: response.statusCode, headers: Self.headers(of: response))
            refused.withLock { $0[task.taskIdentifier] = answer }
        }
        completionHandler(.cancelAuthenticationChallenge, nil)
    }

    /// The refused answer of `task` (status and headers), once; nil when it met no challenge.
    public func take(_ task: URLSessionTask) -> (status: Int, headers: [String: String])? {
        refused.withLock { $0.removeValue(forKey: task.taskIdentifier) }
    }

    /// A response's headers as strings.
    public static func headers(of response: HTTPURLResponse) -> [String: String] {
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return headers
    }
}
