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

    /// Starts the registry; with `user`, only that user with `password` may use it.
    public static func start(user: String? = nil, password: String = "", tls: Bool = false) async throws
        -> RegistryServer
    {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin"
        guard let executable = ExecutableLookup.find("docker-registry", path: path) else {
            throw NginxError("docker-registry not found on PATH (hack/install-deps.sh installs it)")
        }
        let directory = try TemporaryDirectory("kbuild-registry").path
        var extra = ""
        if let user {
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
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["serve", directory + "/config.yml"]
            let log = FileHandle(forWritingAtPath: directory + "/registry.log")
            process.standardOutput = log
            process.standardError = log
            try process.run()
            if await listening(port: port, while: process) {
                return RegistryServer(directory: directory, port: port, pid: process.processIdentifier, tls: tls)
            }
            process.terminate()
            lastLog = (try? String(contentsOfFile: directory + "/registry.log", encoding: .utf8)) ?? ""
        }
        throw NginxError("docker-registry did not start: \(lastLog.suffix(2000))")
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
        let text = try String(contentsOfFile: log, encoding: .utf8)
        let methods: Set<Substring> = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]
        return text.split(separator: "\n").compactMap { line in
            guard let quote = line.firstIndex(of: "\"") else { return nil }
            let words = line[line.index(after: quote)...].split(separator: " ", maxSplits: 2)
            guard words.count == 3, methods.contains(words[0]) else { return nil }
            return words[0] + " " + words[1]
        }
    }

    /// Kills the registry at once (SIGKILL).
    public func kill() { _ = Foundation.kill(pid, SIGKILL) }

    /// Kills the registry and removes its directory.
    public func stop() {
        kill()
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
