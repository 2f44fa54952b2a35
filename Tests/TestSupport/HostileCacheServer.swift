import Foundation
import KbuildCore

/// Tests/Fixtures/hostile-cache-server.py: a remote cache that streams endless bodies, closes early,
/// trickles, redirects or sends records with hostile paths (see the script for each mode).
public final class HostileCacheServer: Sendable {
    public let port: Int
    /// The body bytes the server had sent when its last `/cas/` answer ended.
    public let statsFile: String
    private let process: Process.Handle

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Starts the script in `mode`; its records name `output` (workspace-relative) of `declared` bytes.
    public init(mode: String, output: String, declared: Int64, scratch: String) async throws {
        statsFile = scratch + "/server-stats-\(mode)"
        let script = Repository.root + "/Tests/Fixtures/hostile-cache-server.py"
        let handle = try Process.Handle(["/usr/bin/python3", script, mode, output, String(declared), statsFile])
        guard let line = await Blocking.run({ handle.firstLine() }), let port = Int(line) else {
            handle.stop()
            throw NginxError("hostile-cache-server.py did not print its port")
        }
        self.process = handle
        self.port = port
    }

    /// Body bytes sent by the last finished `/cas/` answer (nil before one finished).
    public var sentBytes: Int64? {
        (try? String(contentsOfFile: statsFile, encoding: .utf8)).flatMap { Int64($0) }
    }

    public func stop() { process.stop() }
}

extension Process {
    /// A child process and its stdout, stopped with SIGKILL by `stop`.
    final class Handle: @unchecked Sendable {
        let process = Process()
        let output = Pipe()

        init(_ command: [String]) throws {
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
            process.standardOutput = output
            try process.run()
        }

        /// The first line the process prints (blocking), without its newline.
        func firstLine() -> String? {
            var bytes = Data()
            while !bytes.contains(0x0a) {
                let more = output.fileHandleForReading.availableData
                if more.isEmpty { return nil }
                bytes.append(more)
            }
            return String(decoding: bytes.prefix { $0 != 0x0a }, as: UTF8.self)
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
