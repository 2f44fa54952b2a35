import Foundation
import KbuildCore

/// A real OCI registry: Debian's `docker-registry` (Distribution 2.8) serving a throwaway directory on a
/// free port of 127.0.0.1, as a plain process. Optionally with htpasswd Basic auth (`htpasswd -B`) and
/// over TLS with a fresh self-signed certificate (openssl). Its access log counts requests.
public struct RegistryServer: Sendable {
    public let directory: String
    public let port: Int
    public let pid: pid_t
    public let tls: Bool

    /// `127.0.0.1:<port>`.
    public var host: String { "127.0.0.1:\(port)" }
    /// The log: one access line per request (`"PUT /v2/… HTTP/1.1"`).
    public var log: String { directory + "/registry.log" }

    /// The token server (python3 with `cryptography`) when the registry uses token auth.
    public var tokenServer: pid_t?

    /// Starts the registry; with `user`, only that user with `password` may use it: by htpasswd Basic
    /// auth, or with `bearer`, through the token flow of a token server started beside it.
    public static func start(user: String? = nil, password: String = "", tls: Bool = false, bearer: Bool = false)
        async throws -> RegistryServer
    {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin"
        guard let executable = ExecutableLookup.find("docker-registry", path: path) else {
            throw NginxError("docker-registry not found on PATH (hack/install-deps.sh installs it)")
        }
        let directory = try TemporaryDirectory("kbuild-registry").path
        var extra = ""
        var tokenServer: pid_t?
        if let user, bearer {
            let (pid, realm) = try await startTokenServer(in: directory, user: user, password: password)
            tokenServer = pid
            extra +=
                "auth:\n  token:\n    realm: \(realm)\n    service: kbuild-registry\n    issuer: kbuild-test\n"
                + "    rootcertbundle: \(directory)/token-cert.pem\n"
        } else if let user {
            let line = try await Tool.check("htpasswd", ["-Bbn", user, password])
            try line.write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8)
            extra += "auth:\n  htpasswd:\n    realm: kbuild-test\n    path: \(directory)/htpasswd\n"
        }
        if tls { try await selfSignedCertificate(in: directory) }
        var lastLog = ""
        // A port found free can be taken before the registry binds it: try a few.
        for _ in 0..<5 {
            let port = try NginxServer.freePort()
            let tlsConfig =
                tls ? "  tls:\n    certificate: \(directory)/cert.pem\n    key: \(directory)/key.pem\n" : ""
            let config = """
                version: 0.1
                log:
                  level: info
                storage:
                  filesystem:
                    rootdirectory: \(directory)/data
                http:
                  addr: 127.0.0.1:\(port)
                \(tlsConfig)\(extra)
                """
            try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
            _ = FileManager.default.createFile(atPath: directory + "/registry.log", contents: nil)
            let process = try launch(executable, directory: directory)
            if await listening(port: port, while: process) {
                return RegistryServer(
                    directory: directory, port: port, pid: process.processIdentifier, tls: tls, tokenServer: tokenServer
                )
            }
            process.terminate()
            lastLog = (try? String(contentsOfFile: directory + "/registry.log", encoding: .utf8)) ?? ""
        }
        throw NginxError("docker-registry did not start: \(lastLog.suffix(2000))")
    }

    /// `docker-registry serve <directory>/config.yml`, logging to registry.log (appended).
    static func launch(_ executable: String, directory: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", directory + "/config.yml"]
        let log = FileHandle(forWritingAtPath: directory + "/registry.log")
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    /// The registry started again after `kill()`, on the same directory, config and port: what it had
    /// stored is there, as after a crash and a restart. Its log goes on in the same file.
    public func restarted() async throws -> RegistryServer {
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin"
        guard let executable = ExecutableLookup.find("docker-registry", path: path) else {
            throw NginxError("docker-registry not found on PATH (hack/install-deps.sh installs it)")
        }
        let process = try Self.launch(executable, directory: directory)
        guard await Self.listening(port: port, while: process) else {
            process.terminate()
            throw NginxError("docker-registry did not start again on port \(port)")
        }
        return RegistryServer(
            directory: directory, port: port, pid: process.processIdentifier, tls: tls, tokenServer: tokenServer)
    }

    /// Waits (bounded) until the port takes connections, or the process ends.
    static func listening(port: Int, while process: Process) async -> Bool {
        for _ in 0..<500 {
            guard process.isRunning else { return false }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if connected == 0 { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return false
    }

    /// The requests the registry served, as `METHOD /path` (from its access log).
    public func requests() throws -> [String] {
        accessLogRequests(try String(contentsOfFile: log, encoding: .utf8))
    }

    /// A token server of the registry token protocol on a free port: its signing key and certificate
    /// (openssl), its script, and the realm URL.
    static func startTokenServer(in directory: String, user: String, password: String) async throws
        -> (pid_t, String)
    {
        try await Tool.check(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kbuild-token",
                "-keyout", directory + "/token-key.pem", "-out", directory + "/token-cert.pem",
            ])
        try tokenServerScript.write(toFile: directory + "/registry_token_server.py", atomically: true, encoding: .utf8)
        let port = try NginxServer.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", directory + "/registry_token_server.py", directory + "/token-key.pem",
            directory + "/token-cert.pem", String(port), user, password,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard await listening(port: port, while: process) else {
            throw NginxError("the token server did not start (python3 with cryptography: hack/install-deps.sh)")
        }
        return (process.processIdentifier, "http://127.0.0.1:\(port)/token")
    }

    /// Kills the registry at once (SIGKILL).
    public func kill() { _ = Foundation.kill(pid, SIGKILL) }

    /// Kills the registry and removes its directory.
    public func stop() {
        kill()
        if let tokenServer {
            _ = Foundation.kill(tokenServer, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(tokenServer, &status, 0)
        }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The requests of an access log in the common format (docker-registry's, nginx's), as `METHOD /path`.
func accessLogRequests(_ text: String) -> [String] {
    let methods: Set<Substring> = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]
    return text.split(separator: "\n").compactMap { line in
        guard let quote = line.firstIndex(of: "\"") else { return nil }
        let words = line[line.index(after: quote)...].split(separator: " ", maxSplits: 2)
        guard words.count == 3, methods.contains(words[0]) else { return nil }
        return words[0] + " " + words[1]
    }
}

/// A token server of the Docker registry token protocol: `GET /token?service=&scope=` with Basic auth
/// `USER:PASSWORD` answers `{"token": <an RS256 JWT whose x5c is the signing certificate>}`.
let tokenServerScript = #"""
    import base64, json, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, urlparse
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key_file, cert_file, port, user, password = sys.argv[1:6]
    key = serialization.load_pem_private_key(open(key_file, "rb").read(), None)
    cert = x509.load_pem_x509_certificate(open(cert_file, "rb").read())
    chain = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.headers.get("Authorization", "") != expected:
                self.send_response(401)
                self.end_headers()
                return
            query = parse_qs(urlparse(self.path).query)
            access = []
            for scope in query.get("scope", []):
                kind, name, actions = scope.split(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
            now = int(time.time())
            claims = {"iss": "kbuild-test", "sub": user, "aud": query.get("service", [""])[0], "exp": now + 600,
                      "nbf": now - 60, "iat": now, "jti": str(time.time_ns()), "access": access}
            header = {"alg": "RS256", "typ": "JWT", "x5c": chain}
            signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
            signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
            body = json.dumps({"token": signing + "." + b64(signature)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
    """#
