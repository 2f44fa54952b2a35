import CCurl
import Foundation
import KbuildCore
import Synchronization

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

/// How a transport checks servers' certificates.
public struct TLSOptions: Sendable, Hashable {
    /// Check the certificate chain and the host name; false is skopeo's `--tls-verify=false`.
    public var verify: Bool
    /// A PEM file of CA certificates trusted besides the system's (`--ca-file`).
    public var caFile: String?

    public init(verify: Bool = true, caFile: String? = nil) {
        self.verify = verify
        self.caFile = caFile
    }
}

/// HTTP over libcurl easy handles (the libcurl FoundationNetworking uses, so nothing new is linked),
/// for what URLSession on Linux cannot do: a CA file of its own. Calls block the calling thread
/// (publishing runs them on threads of their own); finished handles wait in a pool so the next request
/// reuses their connection and TLS session.
struct HTTPTransport: Sendable {
    let tls: TLSOptions
    /// Seconds to connect (TCP and TLS).
    let connectTimeout: Int
    /// Seconds a transfer may move less than one byte a second; no total limit, so a big blob takes what
    /// it takes on a slow link.
    let stallTimeout: Int
    private let pool: HandlePool

    init(tls: TLSOptions = TLSOptions(), connectTimeout: Int = 30, stallTimeout: Int = 60, connections: Int = 8) {
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        pool = HandlePool(keep: connections)
    }

    /// Longest answer body kept: registries answer with small JSON; a blob is never read back.
    static let bodyLimit = 4 << 20

    /// What a request sends: nothing, bytes in memory (small), or a file streamed from disk.
    enum Body: Sendable {
        case none
        case data(Data)
        case file(String)
    }

    struct Failure: Error, Sendable {
        var reason: String
        /// A reset, a timeout, a refused connection: worth another try after a pause.
        var retryable: Bool
    }

    func send(_ method: String, _ url: URL, headers: [String: String], body: Data?) -> Result<HTTPAnswer, Failure> {
        send(method, url, headers: headers, body: body.map(Body.data) ?? .none)
    }

    /// Sends one request; a network failure is `.failure(reason)`, any HTTP status an answer. GET and HEAD
    /// follow up to 5 redirects (a registry may send a blob to its storage), other methods none. libcurl
    /// sends a request again by itself when a kept connection turns out dead after part of the body went;
    /// `resendable: false` forbids that (the request then fails as a lost connection), for a request of
    /// an upload session the registry may have half taken.
    func send(
        _ method: String, _ url: URL, headers: [String: String], body: Body, resendable: Bool = true
    ) -> Result<HTTPAnswer, Failure> {
        let exchange: Exchange
        switch Exchange.open(method == "GET" || method == "HEAD" ? .none : body) {
        case .success(let opened): exchange = opened
        case .failure(let failure): return .failure(failure)
        }
        defer { exchange.close() }
        let handle = pool.take()
        defer { pool.give(handle) }
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue` round trip before a body; header values never span lines.
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) + [("Expect", "")] {
            let clean = value.filter { $0 != "\r" && $0 != "\n" }
            list = curl_slist_append(list, clean.isEmpty ? "\(name):" : "\(name): \(clean)")
        }
        defer { curl_slist_free_all(list) }
        let errors = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errors.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errors.deallocate() }
        let context = Unmanaged.passUnretained(exchange).toOpaque()
        var code = configure(handle.pointer, method, url, list, errors)
        if code == CURLE_OK { code = exchange.attach(to: handle.pointer, context, rewindable: resendable) }
        if code == CURLE_OK { code = curl_easy_perform(handle.pointer) }
        withExtendedLifetime(exchange) {}
        if code != CURLE_OK {
            if let failure = exchange.readFailure { return .failure(failure) }
            if exchange.oversized {
                return .failure(Failure(reason: "an answer body over \(Self.bodyLimit >> 20) MiB", retryable: false))
            }
            return .failure(Self.failure(code, detail: String(cString: errors), url: url))
        }
        var status = 0
        _ = kbuild_curl_response_code(handle.pointer, &status)
        return .success(HTTPAnswer(status: status, headers: exchange.headers, body: exchange.body))
    }

    /// Sets the request's options on a fresh (reset) handle.
    private func configure(
        _ handle: UnsafeMutableRawPointer, _ method: String, _ url: URL, _ list: UnsafeMutablePointer<curl_slist>?,
        _ errors: UnsafeMutablePointer<CChar>
    ) -> CURLcode {
        let follow = method == "GET" || method == "HEAD"
        let longs: [(CURLoption, Int)] = [
            (CURLOPT_NOSIGNAL, 1),
            // http and https only, for the request and any redirect (CURLOPT_PROTOCOLS and
            // CURLOPT_REDIR_PROTOCOLS by number: their _STR successors are missing from Ubuntu 22.04's 7.81).
            (CURLoption(rawValue: 181), Int(CURLPROTO_HTTP | CURLPROTO_HTTPS)),
            (CURLoption(rawValue: 182), Int(CURLPROTO_HTTP | CURLPROTO_HTTPS)),
            (CURLOPT_CONNECTTIMEOUT, connectTimeout),
            (CURLOPT_LOW_SPEED_LIMIT, 1), (CURLOPT_LOW_SPEED_TIME, stallTimeout),
            (CURLOPT_FOLLOWLOCATION, follow ? 1 : 0), (CURLOPT_MAXREDIRS, 5),
            (CURLOPT_SSL_VERIFYPEER, tls.verify ? 1 : 0), (CURLOPT_SSL_VERIFYHOST, tls.verify ? 2 : 0),
            (CURLOPT_NOBODY, method == "HEAD" ? 1 : 0),
        ]
        for (option, value) in longs {
            let code = kbuild_curl_setopt_long(handle, option, value)
            guard code == CURLE_OK else { return code }
        }
        var code = url.absoluteString.withCString { kbuild_curl_setopt_pointer(handle, CURLOPT_URL, $0) }
        if code == CURLE_OK, !follow {
            code = method.withCString { kbuild_curl_setopt_pointer(handle, CURLOPT_CUSTOMREQUEST, $0) }
        }
        if code == CURLE_OK, let caFile = tls.caFile {
            code = caFile.withCString { kbuild_curl_setopt_pointer(handle, CURLOPT_CAINFO, $0) }
        }
        if code == CURLE_OK { code = kbuild_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, list) }
        if code == CURLE_OK { code = kbuild_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors) }
        return code
    }

    /// A CURLcode in words; `detail` is curl's error buffer (it names the host, never the URL's user
    /// or password, which kbuild never puts in a URL anyway — they are stripped here regardless).
    static func failure(_ code: CURLcode, detail: String, url: URL) -> Failure {
        var detail = Escaping.oneLine(String(detail.prefix(200)))
        for secret in [url.user, url.password].compactMap({ $0 }) where !secret.isEmpty {
            detail = detail.replacingOccurrences(of: secret, with: "…")
        }
        let explained = detail.isEmpty ? "" : " (\(detail))"
        switch code {
        case CURLE_COULDNT_CONNECT: return Failure(reason: "connection refused", retryable: true)
        case CURLE_OPERATION_TIMEDOUT: return Failure(reason: "no answer in time\(explained)", retryable: true)
        case CURLE_COULDNT_RESOLVE_HOST: return Failure(reason: "unknown host", retryable: false)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_SEND_FAIL_REWIND:
            return Failure(reason: "connection lost", retryable: true)
        case CURLE_WEIRD_SERVER_REPLY: return Failure(reason: "not an HTTP answer", retryable: true)
        case CURLE_PEER_FAILED_VERIFICATION:
            return Failure(
                reason:
                    "TLS: certificate not trusted\(explained); allowed: --ca-file with its CA, or --tls-verify=false",
                retryable: false)
        case CURLE_SSL_CACERT_BADFILE:
            return Failure(reason: "TLS: the CA file cannot be used\(explained)", retryable: false)
        case CURLE_SSL_CONNECT_ERROR:
            return Failure(reason: "TLS handshake failed\(explained)", retryable: false)
        case CURLE_TOO_MANY_REDIRECTS: return Failure(reason: "more than 5 redirects", retryable: false)
        case CURLE_UNSUPPORTED_PROTOCOL:
            return Failure(reason: "redirected to a scheme other than http(s)", retryable: false)
        default:
            let words = String(cString: curl_easy_strerror(code))
            return Failure(reason: "network error: \(detail.isEmpty ? words : detail)", retryable: true)
        }
    }
}

/// One request's state, handed to libcurl's callbacks: the body being sent, the answer's headers and
/// its body (bounded). Used by one thread at a time.
private final class Exchange {
    private enum Source {
        case memory(Data, offset: Int)
        case file(Int32, size: Int64)
    }
    private var source: Source?
    var headers: [String: String] = [:]
    var body = Data()
    /// Set when the answer's body went over `bodyLimit` (the transfer is then stopped).
    var oversized = false
    /// Set when the file being sent could not be read (not a network failure: no retry).
    var readFailure: HTTPTransport.Failure?

    private init(_ source: Source?) { self.source = source }

    /// The exchange for `body`: a file is opened without following a symlink, and must be regular.
    static func open(_ body: HTTPTransport.Body) -> Result<Exchange, HTTPTransport.Failure> {
        switch body {
        case .none: return .success(Exchange(nil))
        case .data(let data): return .success(Exchange(.memory(data, offset: 0)))
        case .file(let path):
            let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            var info = stat()
            guard fd >= 0, fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                let reason = "cannot read \(Escaping.shown(path)): \(String(cString: strerror(errno)))"
                if fd >= 0 { Glibc.close(fd) }
                return .failure(HTTPTransport.Failure(reason: reason, retryable: false))
            }
            return .success(Exchange(.file(fd, size: Int64(info.st_size))))
        }
    }

    func close() {
        if case .file(let fd, _) = source { Glibc.close(fd) }
        source = nil
    }

    /// Points the handle's callbacks at this exchange; a body (even an empty one) is sent as an upload of
    /// its exact size. Without `rewindable`, libcurl cannot start the body over (it has no seek callback).
    func attach(to handle: UnsafeMutableRawPointer, _ context: UnsafeMutableRawPointer, rewindable: Bool)
        -> CURLcode
    {
        var codes = [
            kbuild_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, Self.onHeader),
            kbuild_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context),
            kbuild_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, Self.onBody),
            kbuild_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context),
        ]
        if let source {
            let size: Int64
            switch source {
            case .memory(let data, _): size = Int64(data.count)
            case .file(_, let bytes): size = bytes
            }
            codes += [
                kbuild_curl_setopt_long(handle, CURLOPT_UPLOAD, 1),
                kbuild_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(size)),
                kbuild_curl_setopt_data_callback(handle, CURLOPT_READFUNCTION, Self.onRead),
                kbuild_curl_setopt_pointer(handle, CURLOPT_READDATA, context),
            ]
            if rewindable {
                codes += [
                    kbuild_curl_setopt_seek_callback(handle, Self.onSeek),
                    kbuild_curl_setopt_pointer(handle, CURLOPT_SEEKDATA, context),
                ]
            }
        }
        return codes.first { $0 != CURLE_OK } ?? CURLE_OK
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> Exchange {
        Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
    }

    /// One header line; a status line (a redirect's next answer, a 100 Continue) starts the set afresh.
    private static let onHeader:
        @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?)
            -> Int = { bytes, size, count, context in
                let exchange = from(context)
                let line = String(decoding: UnsafeRawBufferPointer(start: bytes, count: size * count), as: UTF8.self)
                if line.hasPrefix("HTTP/") { exchange.headers = [:] }
                if let colon = line.firstIndex(of: ":"), !line.hasPrefix("HTTP/") {
                    let name = String(line[..<colon])
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                    exchange.headers[name] = exchange.headers[name].map { $0 + ", " + value } ?? value
                }
                return size * count
            }

    /// Answer bytes, up to `bodyLimit`; one byte more stops the transfer (a registry answers with small
    /// JSON: an endless answer is hostile, not a body to wait for).
    private static let onBody:
        @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?)
            -> Int = { bytes, size, count, context in
                let exchange = from(context)
                guard let bytes else { return 0 }
                guard exchange.body.count + size * count <= HTTPTransport.bodyLimit else {
                    exchange.oversized = true
                    return 0
                }
                exchange.body.append(UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self), count: size * count)
                return size * count
            }

    /// The next bytes of the body, straight from the file (never the whole file in memory).
    private static let onRead:
        @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?)
            -> Int = { buffer, size, count, context in
                let exchange = from(context)
                guard let buffer else { return 0 }
                switch exchange.source {
                case .memory(let data, let offset):
                    let n = min(size * count, data.count - offset)
                    data.withUnsafeBytes {
                        UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress! + offset, byteCount: n)
                    }
                    exchange.source = .memory(data, offset: offset + n)
                    return n
                case .file(let fd, _):
                    while true {
                        let n = Glibc.read(fd, buffer, size * count)
                        if n >= 0 { return n }
                        if errno == EINTR { continue }
                        exchange.readFailure = HTTPTransport.Failure(
                            reason: "cannot read the file being sent: \(String(cString: strerror(errno)))",
                            retryable: false)
                        return Int(CURL_READFUNC_ABORT)
                    }
                case nil: return 0
                }
            }

    /// Back to the start (or `offset`), when libcurl resends the body on a fresh connection.
    private static let onSeek: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, Int32) -> Int32 = {
        context, offset, origin in
        let exchange = from(context)
        guard origin == SEEK_SET else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
        switch exchange.source {
        case .memory(let data, _):
            guard offset <= data.count else { return Int32(CURL_SEEKFUNC_FAIL) }
            exchange.source = .memory(data, offset: Int(offset))
        case .file(let fd, _):
            guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else { return Int32(CURL_SEEKFUNC_FAIL) }
        case nil: return Int32(CURL_SEEKFUNC_CANTSEEK)
        }
        return Int32(CURL_SEEKFUNC_OK)
    }
}

/// Easy handles kept between requests (each holds its open connections and TLS sessions), at most
/// `keep` of them; libcurl is set up once per process before the first.
private final class HandlePool: Sendable {
    struct Handle: @unchecked Sendable {
        // A CURL*, used by one thread at a time: whoever took it from the pool.
        let pointer: UnsafeMutableRawPointer
    }
    private let idle = Mutex<[Handle]>([])
    private let keep: Int
    private static let initialized: Bool = curl_global_init(3) == CURLE_OK  // CURL_GLOBAL_ALL

    init(keep: Int) { self.keep = keep }

    deinit { idle.withLock { $0 }.forEach { curl_easy_cleanup($0.pointer) } }

    func take() -> Handle {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        _ = Self.initialized
        return Handle(pointer: curl_easy_init())
    }

    /// Back to the pool, its options cleared (the connections and TLS sessions stay).
    func give(_ handle: Handle) {
        curl_easy_reset(handle.pointer)
        let kept = idle.withLock { handles in
            guard handles.count < keep else { return false }
            handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.pointer) }
    }
}
