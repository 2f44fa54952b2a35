import Foundation
import KbuildCore

/// What Tests/Fixtures/fault-proxy.py does to the requests a rule matches (see the script).
public struct FaultRule: Sendable, Encodable {
    public var method: String
    /// A regular expression searched in the request path (with its query).
    public var path: String
    /// The first `count` matching requests (after `skip` let through); 0: every one.
    public var count: Int
    public var skip: Int = 0
    public var action: String
    public var status: Int?
    public var body: String?
    public var headers: [String: String]?
    public var at: String?

    /// Answers `status` with `body` (a Distribution JSON error by default) instead of forwarding.
    public static func status(
        _ status: Int, _ method: String, _ path: String, skip: Int = 0, count: Int = 0, body: String? = nil,
        headers: [String: String]? = nil
    ) -> FaultRule {
        FaultRule(
            method: method, path: path, count: count, skip: skip, action: "status", status: status, body: body,
            headers: headers)
    }

    /// Resets the connection after forwarding half the body, or (`afterAnswer`) once the server answered.
    public static func reset(
        _ method: String, _ path: String, skip: Int = 0, count: Int = 0, afterAnswer: Bool = false
    ) -> FaultRule {
        FaultRule(
            method: method, path: path, count: count, skip: skip, action: "reset", at: afterAnswer ? "answer" : nil)
    }

    /// Forwards, then answers with a Docker-Content-Digest of nothing that was sent (sha256:000…).
    public static func wrongDigest(_ method: String, _ path: String, count: Int = 0) -> FaultRule {
        FaultRule(method: method, path: path, count: count, action: "digest")
    }

    /// The digest `wrongDigest` reports.
    public static let wrong = "sha256:" + String(repeating: "0", count: 64)
}

/// One request the proxy saw: what it did (`forward`, `status`, `reset`, `reset-answered`, `digest`) and
/// the status the client got (nil after a reset).
public struct ProxiedRequest: Sendable, Hashable {
    public var method: String
    public var path: String
    public var action: String
    public var status: Int?
}

/// Tests/Fixtures/fault-proxy.py in front of a real server on 127.0.0.1 (docker-registry, nginx): it
/// forwards every request unless one of its rules injects a fault, and logs every request.
public final class FaultProxy: Sendable {
    public let port: Int
    public let log: String
    private let process: Process.Handle

    /// `127.0.0.1:<port>`: a registry name.
    public var host: String { "127.0.0.1:\(port)" }
    public var url: String { "http://\(host)" }

    /// With `keepAlive`, connections stay open between requests (else each answer closes its own), so a
    /// reset hits a connection the client reuses.
    public init(upstream: Int, rules: [FaultRule], scratch: String, keepAlive: Bool = false) async throws {
        log = scratch + "/fault-proxy-\(UUID().uuidString).log"
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let arguments = try rules.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let script = Repository.root + "/Tests/Fixtures/fault-proxy.py"
        let handle = try Process.Handle(
            ["/usr/bin/python3", script] + (keepAlive ? ["--keep-alive"] : []) + [String(upstream), log] + arguments)
        guard let line = try await Blocking.run({ handle.firstLine() }), let port = Int(line) else {
            handle.stop()
            throw NginxError("fault-proxy.py did not print its port")
        }
        self.process = handle
        self.port = port
    }

    /// Every request so far, in the order they ended.
    public func requests() throws -> [ProxiedRequest] {
        guard FileManager.default.fileExists(atPath: log) else { return [] }
        return try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 4 else { return nil }
            return ProxiedRequest(
                method: String(words[0]), path: String(words[1]), action: String(words[2]), status: Int(words[3]))
        }
    }

    public func stop() { process.stop() }
}
