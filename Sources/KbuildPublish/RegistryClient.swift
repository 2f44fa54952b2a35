import Foundation
import KbuildCore
import Synchronization

/// A client of one registry's Distribution API v2 (https://github.com/opencontainers/distribution-spec,
/// spec.md): blobs checked with `HEAD` and uploaded with `POST` + `PUT ?digest=` (in `PATCH` chunks
/// when large), manifests `PUT` by digest or tag. A 401 is answered once with Basic auth or the Bearer
/// token flow its `WWW-Authenticate` asks for; a 5xx or a lost connection is retried with backoff.
public final class RegistryClient: Sendable {
    /// `host[:port]`.
    public let host: String
    /// `https`, or `http` with `--tls-verify=false`.
    public let scheme: String
    let credential: Credential?
    let transport = HTTPTransport()
    /// The Authorization value that worked, per repository (Bearer tokens are scoped to one).
    private let authorizations = Mutex<[String: String]>([:])
    /// Tries of one request: the first and three more, 0.5, 1 and 2 s apart.
    let attempts: Int

    public init(host: String, plainHTTP: Bool, credential: Credential?, attempts: Int = 4) {
        self.host = host
        self.scheme = plainHTTP ? "http" : "https"
        self.credential = credential
        self.attempts = max(1, attempts)
    }

    /// `<scheme>://<host>/v2/<repository>/<path>`.
    func url(_ repository: String, _ path: String) -> String { "\(scheme)://\(host)/v2/\(repository)/\(path)" }

    /// Sends a request for `repository`, authenticating and retrying as needed; `subject` names the
    /// image or blob in errors. Returns any answer that is not a retryable failure or a 401 it could answer.
    /// `retrying: false` sends it once (besides answering a 401): a request inside an upload session,
    /// which the registry may have half taken, is not worth repeating; the whole upload is.
    func send(
        _ method: String, _ address: String, repository: String, subject: String, headers: [String: String] = [:],
        body: Data? = nil, retrying: Bool = true
    ) throws(PublishError) -> HTTPAnswer {
        let attempts = retrying ? self.attempts : 1
        guard let url = URL(string: address) else {
            throw .unreachable(subject: subject, url: address, reason: "not a valid URL")
        }
        var authenticated = false
        var attempt = 0
        while true {
            attempt += 1
            var all = headers
            if let authorization = authorizations.withLock({ $0[repository] }) { all["Authorization"] = authorization }
            switch transport.send(method, url, headers: all, body: body) {
            case .failure(let failure):
                guard failure.retryable, attempt < attempts else {
                    throw .unreachable(subject: subject, url: Self.shown(address), reason: failure.reason)
                }
            case .success(let answer):
                if answer.status == 401, !authenticated,
                    let challenge = answer.header("WWW-Authenticate").flatMap(AuthChallenge.init)
                {
                    authenticated = true
                    let value = try authorization(for: challenge, repository: repository, subject: subject)
                    authorizations.withLock { $0[repository] = value }
                    attempt -= 1
                    continue
                }
                guard Self.retryable(answer.status), attempt < attempts else { return answer }
            }
            Thread.sleep(forTimeInterval: 0.5 * Double(1 << (attempt - 1)))
        }
    }

    /// The Authorization value a challenge asks for: Basic with the credential, or a Bearer token from
    /// the realm (asked with the credential, if any, for pull and push on `repository`).
    private func authorization(for challenge: AuthChallenge, repository: String, subject: String)
        throws(PublishError) -> String
    {
        switch challenge.scheme {
        case "basic":
            guard let credential else {
                throw .rejected(
                    subject: subject, method: "auth", url: "\(scheme)://\(host)", status: 401,
                    message: "the registry wants a user and password and no auth file has an entry for \(host)")
            }
            return credential.basicAuthorization
        default:
            guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm) else {
                throw .rejected(
                    subject: subject, method: "auth", url: "\(scheme)://\(host)", status: 401,
                    message: "a Bearer challenge without a realm")
            }
            var query = components.queryItems ?? []
            if let service = challenge.parameters["service"] {
                query.append(URLQueryItem(name: "service", value: service))
            }
            // Ours, and any the registry names (a mount also needs pull on the repository it mounts from).
            let asked = (challenge.parameters["scope"] ?? "").split(separator: " ").map(String.init)
            for scope in ["repository:\(repository):pull,push"] + asked
            where !query.contains(where: { $0.value == scope }) {
                query.append(URLQueryItem(name: "scope", value: scope))
            }
            components.queryItems = query
            guard let tokenURL = components.url else {
                throw .unreachable(subject: subject, url: realm, reason: "the token realm is not a URL")
            }
            var headers: [String: String] = [:]
            if let credential { headers["Authorization"] = credential.basicAuthorization }
            let answer: HTTPAnswer
            switch transport.send("GET", tokenURL, headers: headers, body: nil) {
            case .failure(let failure): throw .unreachable(subject: subject, url: realm, reason: failure.reason)
            case .success(let got): answer = got
            }
            struct Token: Decodable {
                var token: String?
                var accessToken: String?
                enum CodingKeys: String, CodingKey {
                    case token, accessToken = "access_token"
                }
            }
            guard answer.status == 200, let parsed = try? JSONDecoder().decode(Token.self, from: answer.body),
                let token = parsed.token ?? parsed.accessToken
            else {
                throw .rejected(
                    subject: subject, method: "GET", url: realm, status: answer.status,
                    message: answer.status == 200 ? "no token in the answer" : answer.message)
            }
            return "Bearer " + token
        }
    }

    /// Whether an HTTP status may be gone on the next try: a 5xx, but not those that say the server
    /// cannot or will not (501 not implemented, 505 version, 507 out of storage).
    static func retryable(_ status: Int) -> Bool { status >= 500 && ![501, 505, 507].contains(status) }

    /// An address for messages: without its query (upload state, tokens).
    static func shown(_ address: String) -> String {
        String(address.prefix { $0 != "?" })
    }
}

/// A `WWW-Authenticate` challenge: `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`.
struct AuthChallenge: Sendable, Hashable {
    /// Lowercased: `basic` or `bearer`.
    var scheme: String
    var parameters: [String: String]

    init?(_ header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else {
            guard !trimmed.isEmpty else { return nil }
            scheme = trimmed.lowercased()
            parameters = [:]
            return
        }
        scheme = trimmed[..<space].lowercased()
        guard scheme == "basic" || scheme == "bearer" else { return nil }
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed[space...].drop { $0 == " " })
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        value.append(character)
                    }
                }
            } else {
                value = String(rest.prefix { $0 != "," })
                rest = rest.dropFirst(value.count)
            }
            parameters[key] = value
            rest = rest.drop { $0 == "," || $0 == " " }
        }
        self.parameters = parameters
    }
}
