import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

@testable import KbuildPublish

/// The libcurl transport against real servers: nginx (WebDAV PUT of a streamed file), a closed port, and
/// python3 servers that redirect or never stop answering.
@Suite struct HTTPTransportTests {
    /// A python3 server on a free port answering every method with `status` and `Location: location`, or,
    /// with `endless`, 200 and zeros until the client goes away; stopped with the returned process.
    static func server(status: Int = 307, location: String = "http://127.0.0.1:9/elsewhere", endless: Bool = false)
        throws -> (Process, Int)
    {
        let port = try NginxServer.freePort()
        let script = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.0"
                def log_message(self, *a): pass
                def answer(self):
                    if \(endless ? "True" : "False"):
                        self.send_response(200); self.end_headers()
                        try:
                            while True: self.wfile.write(b"\\0" * 65536)
                        except OSError: return
                    self.send_response(\(status)); self.send_header("Location", "\(location)")
                    self.send_header("Content-Length", "0"); self.end_headers()
                do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = answer
            http.server.HTTPServer(("127.0.0.1", \(port)), H).serve_forever()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        // Not the test's own pipes: swift test waits for every holder of them to exit.
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, port)
    }

    static func stop(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static func waitForPort(_ port: Int) async throws {
        let transport = HTTPTransport(connectTimeout: 2)
        for _ in 0..<200 {
            let url = try #require(URL(string: "http://127.0.0.1:\(port)/"))
            if case .success = transport.send("HEAD", url, headers: [:], body: nil) { return }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
    }

    @Test func aClosedPortIsARetryableConnectionRefused() throws {
        let url = try #require(URL(string: "http://127.0.0.1:\(try NginxServer.freePort())/v2/"))
        guard case .failure(let failure) = HTTPTransport().send("GET", url, headers: [:], body: nil) else {
            Issue.record("a closed port answered")
            return
        }
        #expect(failure.reason == "connection refused" && failure.retryable)
    }

    /// GET and HEAD follow a redirect (here to a closed port: refused), PUT and POST get the 307 itself.
    @Test func onlyGetAndHeadFollowRedirects() async throws {
        let (process, port) = try Self.server()
        defer { Self.stop(process) }
        try await Self.waitForPort(port)
        let transport = HTTPTransport()
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/v2/x/blobs/uploads/"))
        for method in ["GET", "HEAD"] {
            guard case .failure(let failure) = transport.send(method, url, headers: [:], body: nil) else {
                Issue.record("\(method) did not follow the redirect")
                continue
            }
            #expect(failure.reason == "connection refused", "\(method): \(failure.reason)")
        }
        for method in ["PUT", "POST", "PATCH"] {
            let answer = try transport.send(method, url, headers: [:], body: Data("body".utf8)).get()
            #expect(answer.status == 307, "\(method)")
            #expect(answer.header("location") == "http://127.0.0.1:9/elsewhere")
        }
    }

    /// An answer that never ends is cut at the body limit, not read into memory until the client dies.
    @Test func anEndlessAnswerStopsAtTheBodyLimit() async throws {
        let (process, port) = try Self.server(endless: true)
        defer { Self.stop(process) }
        try await Self.waitForPort(port)
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/token"))
        guard case .failure(let failure) = HTTPTransport().send("GET", url, headers: [:], body: nil) else {
            Issue.record("an endless answer ended")
            return
        }
        #expect(failure.reason == "an answer body over 4 MiB" && !failure.retryable)
    }

    /// A file body goes up streamed from disk and arrives byte-identical; a symlink is not followed.
    @Test func aFileIsPutStreamedAndASymlinkIsRefused() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.appending("big.bin")
        let bytes = pseudoRandomBytes(count: 40 << 20, seed: 3)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let url = try #require(URL(string: server.url + "/up/big.bin"))
        let transport = HTTPTransport()
        let answer = try transport.send("PUT", url, headers: [:], body: .file(file)).get()
        #expect((200..<300).contains(answer.status), "\(answer.status)")
        #expect(FileManager.default.contentsEqual(atPath: file, andPath: server.root + "/up/big.bin"))

        try FileManager.default.createSymbolicLink(atPath: directory.appending("link"), withDestinationPath: file)
        guard
            case .failure(let failure) = transport.send(
                "PUT", url, headers: [:], body: .file(directory.appending("link")))
        else {
            Issue.record("a symlink was followed")
            return
        }
        #expect(failure.reason.contains("cannot read") && !failure.retryable, "\(failure.reason)")
    }
}
