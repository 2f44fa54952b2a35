import Foundation
import KbuildCore

/// A real nginx serving a throwaway directory over HTTP with WebDAV PUT: the smallest server of the
/// Bazel HTTP remote-cache protocol (`GET`/`PUT /ac/<key>`, `/cas/<sha256>` are plain files).
///
/// It runs as one process (`master_process off`) so one signal stops it, and as a daemon because nginx
/// binds the port before it detaches: when `start` returns the server takes connections.
public struct NginxServer: Sendable {
    /// The prefix directory: config, pid file, logs and temp files.
    public let prefix: String
    /// The document root: `<root>/ac/<key>`, `<root>/cas/<sha256>`.
    public let root: String
    public let port: Int
    /// The nginx process.
    public let pid: pid_t

    /// Serving https with a self-signed certificate (that no client trusts).
    public let tls: Bool

    /// `http://127.0.0.1:<port>` (or https).
    public var url: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)" }

    /// Starts nginx on a free port of 127.0.0.1 with everything under a new temp dir; with `tls`, over
    /// https with a fresh self-signed certificate (openssl); with `user`, behind Basic auth for that user
    /// and `password` (an htpasswd file).
    public static func start(tls: Bool = false, user: String? = nil, password: String = "") async throws
        -> NginxServer
    {
        // Debian puts nginx in /usr/sbin, which is not on a normal user's PATH.
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/usr/local/sbin"
        guard let executable = ExecutableLookup.find("nginx", path: path) else {
            throw NginxError("nginx not found on PATH or in /usr/sbin (hack/install-deps.sh installs it)")
        }
        let directory = try TemporaryDirectory("kbuild-nginx")
        var lastError = ""
        // A port found free can be taken before nginx binds it: try a few.
        for _ in 0..<5 {
            let port = try freePort()
            let prefix = directory.path
            let root = prefix + "/root"
            for sub in ["root", "tmp", "logs"] {
                try FileManager.default.createDirectory(atPath: prefix + "/" + sub, withIntermediateDirectories: true)
            }
            if tls { try await selfSignedCertificate(in: prefix) }
            if let user {
                let line = try await Tool.check("htpasswd", ["-bnm", user, password])
                try line.write(toFile: prefix + "/htpasswd", atomically: true, encoding: .utf8)
            }
            try config(prefix: prefix, root: root, port: port, tls: tls, basicAuth: user != nil)
                .write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
            let result = try await Tool.run(
                executable, ["-p", prefix, "-c", prefix + "/nginx.conf", "-e", prefix + "/logs/error.log"])
            if result.succeeded, let pid = try await readPID(prefix + "/nginx.pid") {
                return NginxServer(prefix: prefix, root: root, port: port, pid: pid, tls: tls)
            }
            lastError =
                result.stderr + ((try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? "")
        }
        directory.remove()
        throw NginxError("nginx did not start: \(lastError)")
    }

    /// The requests the server answered, as `METHOD /path`, in the order they ended (its access log).
    public func requests() throws -> [String] {
        let log = prefix + "/logs/access.log"
        guard FileManager.default.fileExists(atPath: log) else { return [] }
        return accessLogRequests(try String(contentsOfFile: log, encoding: .utf8))
    }

    /// Kills the server at once (SIGKILL), as a crash or a pulled cable would.
    public func kill() {
        _ = Foundation.kill(pid, SIGKILL)
    }

    /// Kills the server and removes its directory.
    public func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: prefix)
    }

    static func config(prefix: String, root: String, port: Int, tls: Bool, basicAuth: Bool = false) -> String {
        // As root nginx would switch to `nobody`, who cannot write the temp dir.
        let user = geteuid() == 0 ? "user root;\n" : ""
        return """
            \(user)master_process off;
            worker_processes 1;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/logs/error.log;
            events { worker_connections 64; }
            http {
              access_log \(prefix)/logs/access.log;
              client_body_temp_path \(prefix)/tmp/body;
              proxy_temp_path \(prefix)/tmp/proxy;
              fastcgi_temp_path \(prefix)/tmp/fastcgi;
              uwsgi_temp_path \(prefix)/tmp/uwsgi;
              scgi_temp_path \(prefix)/tmp/scgi;
              server {
                listen 127.0.0.1:\(port)\(tls ? " ssl" : "");
                \(tls ? "ssl_certificate \(prefix)/cert.pem; ssl_certificate_key \(prefix)/key.pem;" : "")
                root \(root);
                client_max_body_size 0;
                \(basicAuth ? "auth_basic kbuild-test; auth_basic_user_file \(prefix)/htpasswd;" : "")
                location / {
                  dav_methods PUT;
                  create_full_put_path on;
                  dav_access user:rw group:r all:r;
                }
              }
            }

            """
    }

    /// nginx writes its pid file just after it detaches: wait for it (bounded).
    static func readPID(_ path: String) async throws -> pid_t? {
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return pid
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return nil
    }

    /// A TCP port of 127.0.0.1 that nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NginxError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw NginxError("bind: \(String(cString: strerror(errno)))") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw NginxError("getsockname: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Writes `key.pem` and `cert.pem` into `directory`: a fresh self-signed certificate for 127.0.0.1 (openssl),
/// which no client trusts.
public func selfSignedCertificate(in directory: String) async throws {
    try await Tool.check(
        "openssl",
        [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", directory + "/key.pem", "-out",
            directory + "/cert.pem",
        ])
}

/// The nginx fixture could not be set up (not a failure of the code under test).
public struct NginxError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
