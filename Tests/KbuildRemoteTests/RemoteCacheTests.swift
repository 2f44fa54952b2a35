import Foundation
import KbuildCore
import KbuildRemote
import Synchronization
import TestSupport
import Testing

/// The remote-cache client and `RemoteCache` against a real nginx with WebDAV PUT.
@Suite(.serialized) struct RemoteCacheTests {
    /// Collects the warnings a `RemoteCache` prints.
    final class Warnings: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func add(_ line: String) { lines.withLock { $0.append(line) } }
    }

    static func sha256(_ file: String) async throws -> String {
        String(try await Tool.check("sha256sum", [file]).prefix(64))
    }

    /// Two outputs under `<dir>/<name>/_output/…`, one executable.
    static func outputs(in root: String) throws -> [String] {
        let binary = root + "/_output/local/bin/linux/amd64/tool"
        let data = root + "/_output/data.json"
        try FileManager.default.createDirectory(atPath: Paths.parent(of: binary), withIntermediateDirectories: true)
        try Data(pseudoRandomBytes(count: 300_000)).write(to: URL(fileURLWithPath: binary))
        chmod(binary, 0o755)
        try Data("{\"a\":1}\n".utf8).write(to: URL(fileURLWithPath: data))
        return [binary, data]
    }

    static let key = String(repeating: "ab", count: 32)

    /// Where a workspace's blobs download: its build records' directory, as the release passes it.
    static func scratch(_ root: String) -> String { root + "/_output/cache/build" }

    @Test func putGetAndMiss() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let client = RemoteCacheClient(base: server.url)
        let body = Data("hello, cache\n".utf8)
        try await client.put("cas/blob", data: body)
        // What the server stored is the file nginx writes: the same bytes.
        #expect(FileManager.default.contents(atPath: server.root + "/cas/blob") == body)
        #expect(try await client.get("cas/blob") == body)
        #expect(try await client.get("cas/absent") == nil)
        // Overwriting answers 204, which is success too.
        try await client.put("cas/blob", data: Data("second\n".utf8))
        #expect(try await client.get("cas/blob") == Data("second\n".utf8))

        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let fd = open(dir.appending("got"), O_WRONLY | O_CREAT, 0o644)
        #expect(try await client.download("cas/blob", into: fd, size: 7) == 7)
        #expect(try await client.download("cas/absent", into: fd, size: 7) == nil)
        close(fd)
        #expect(FileManager.default.contents(atPath: dir.appending("got")) == Data("second\n".utf8))

        // Uploads from a file stream it as it is.
        let big = dir.appending("big")
        try Data(pseudoRandomBytes(count: 3_000_000)).write(to: URL(fileURLWithPath: big))
        try await client.put("cas/big", file: big)
        #expect(try await Self.sha256(server.root + "/cas/big") == (try await Self.sha256(big)))
    }

    @Test func storedOutputsComeBackVerifiedInAnotherDirectory() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let first = dir.appending("first")
        let outputs = try Self.outputs(in: first)
        let warnings = Warnings()
        let cache = RemoteCache(client: RemoteCacheClient(base: server.url), warn: warnings.add)
        await cache.store(key: Self.key, outputs: outputs, root: first, payload: Data("payload".utf8))

        // Blobs are named by their sha256 (checked by sha256sum), the record names relative paths.
        for output in outputs {
            let digest = try await Self.sha256(output)
            #expect(try await Self.sha256(server.root + "/cas/" + digest) == digest)
        }
        let record = try JSONDecoder().decode(
            ActionRecord.self, from: try #require(FileManager.default.contents(atPath: server.root + "/ac/" + Self.key))
        )
        #expect(record.outputFiles.map(\.path) == ["_output/local/bin/linux/amd64/tool", "_output/data.json"])
        #expect(record.outputFiles.map(\.isExecutable) == [true, false])

        // A clone elsewhere gets the same bytes and modes, and the payload.
        let second = dir.appending("second")
        let wanted = outputs.map { second + String($0.dropFirst(first.count)) }
        #expect(
            await cache.fetch(key: Self.key, outputs: wanted, root: second, scratch: Self.scratch(second))
                == Data("payload".utf8))
        for (original, fetched) in zip(outputs, wanted) {
            #expect(FileManager.default.contents(atPath: fetched) == FileManager.default.contents(atPath: original))
        }
        #expect(FileManager.default.isExecutableFile(atPath: wanted[0]))
        #expect(!FileManager.default.isExecutableFile(atPath: wanted[1]))
        // A record for other outputs is a miss, and so is an unknown key.
        #expect(
            await cache.fetch(key: Self.key, outputs: [wanted[0]], root: second, scratch: Self.scratch(second)) == nil)
        #expect(
            await cache.fetch(
                key: String(repeating: "cd", count: 32), outputs: wanted, root: second, scratch: Self.scratch(second))
                == nil)
        #expect(cache.counters.fetched == 1 && cache.counters.missed == 2 && cache.counters.uploaded == 1)
        #expect(warnings.all.isEmpty)
    }

    @Test(arguments: ["garbage", "truncated"])
    func corruptBlobIsIgnoredAndRepairedByTheNextUpload(damage: String) async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let first = dir.appending("first")
        let outputs = try Self.outputs(in: first)
        let cache = RemoteCache(client: RemoteCacheClient(base: server.url), warn: { _ in })
        await cache.store(key: Self.key, outputs: outputs, root: first, payload: Data())

        let digest = try await Self.sha256(outputs[0])
        let blob = server.root + "/cas/" + digest
        let good = try #require(FileManager.default.contents(atPath: blob))
        let bad = damage == "garbage" ? Data(repeating: 0x41, count: good.count) : good.prefix(good.count / 2)
        try bad.write(to: URL(fileURLWithPath: blob))

        let second = dir.appending("second")
        let wanted = outputs.map { second + String($0.dropFirst(first.count)) }
        #expect(await cache.fetch(key: Self.key, outputs: wanted, root: second, scratch: Self.scratch(second)) == nil)
        #expect(cache.counters.corrupt == 1)
        // Nothing of the bad blob is left: not under its name, not as a temp file beside it.
        #expect(!FileManager.default.fileExists(atPath: wanted[0]))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: Paths.parent(of: wanted[0]))
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: Self.scratch(second)).isEmpty)

        // The step runs locally and records: the upload overwrites the bad blob.
        await cache.store(key: Self.key, outputs: outputs, root: first, payload: Data())
        #expect(try await Self.sha256(blob) == digest)
        #expect(await cache.fetch(key: Self.key, outputs: wanted, root: second, scratch: Self.scratch(second)) != nil)
        #expect(FileManager.default.contents(atPath: wanted[0]) == FileManager.default.contents(atPath: outputs[0]))
    }

    @Test func garbageRecordIsAMissAndTheNextUploadReplacesIt() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let outputs = try Self.outputs(in: dir.path)
        let record = server.root + "/ac/" + Self.key
        try FileManager.default.createDirectory(atPath: server.root + "/ac", withIntermediateDirectories: true)
        try Data("<html>not a record</html>".utf8).write(to: URL(fileURLWithPath: record))
        let warnings = Warnings()
        let cache = RemoteCache(client: RemoteCacheClient(base: server.url), warn: warnings.add)
        #expect(
            await cache.fetch(key: Self.key, outputs: outputs, root: dir.path, scratch: Self.scratch(dir.path)) == nil)
        #expect(cache.counters.missed == 1 && warnings.all.isEmpty)
        await cache.store(key: Self.key, outputs: outputs, root: dir.path, payload: Data("p".utf8))
        #expect(
            await cache.fetch(key: Self.key, outputs: outputs, root: dir.path, scratch: Self.scratch(dir.path))
                == Data("p".utf8))
    }

    @Test func deadServerWarnsOnceAndTheRunGoesOnWithoutIt() async throws {
        let server = try await NginxServer.start()
        let url = server.url
        server.stop()
        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let outputs = try Self.outputs(in: dir.path)
        let warnings = Warnings()
        let cache = RemoteCache(client: RemoteCacheClient(base: url), warn: warnings.add)
        for _ in 0..<3 {
            #expect(
                await cache.fetch(key: Self.key, outputs: outputs, root: dir.path, scratch: Self.scratch(dir.path))
                    == nil)
        }
        await cache.store(key: Self.key, outputs: outputs, root: dir.path, payload: Data())
        #expect(warnings.all == ["warning: remote cache \(url): ac/\(Self.key): connection refused; building locally"])
        #expect(cache.summary.contains("off after: ac/\(Self.key): connection refused"), "\(cache.summary)")
    }

    @Test func silentServerTimesOutWithOneWarning() async throws {
        // A socket that accepts connections (the kernel's backlog) and never answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        #expect(listen(fd, 8) == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
        let warnings = Warnings()
        let cache = RemoteCache(client: RemoteCacheClient(base: url, timeout: 1), warn: warnings.add)
        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let outputs = try Self.outputs(in: dir.path)
        for _ in 0..<2 {
            #expect(
                await cache.fetch(key: Self.key, outputs: outputs, root: dir.path, scratch: Self.scratch(dir.path))
                    == nil)
        }
        #expect(warnings.all.count == 1)
        #expect(
            warnings.all.first?.contains("the transfer took over 1 s (0 bytes received)") == true, "\(warnings.all)")
    }

    @Test func httpsSpeaksTLSAndAnUntrustedCertificateIsOneWarning() async throws {
        // URLSession on Linux trusts the system CA store only: a self-signed server must be refused.
        let server = try await NginxServer.start(tls: true)
        defer { server.stop() }
        let warnings = Warnings()
        let cache = RemoteCache(client: RemoteCacheClient(base: server.url), warn: warnings.add)
        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let outputs = try Self.outputs(in: dir.path)
        for _ in 0..<2 {
            #expect(
                await cache.fetch(key: Self.key, outputs: outputs, root: dir.path, scratch: Self.scratch(dir.path))
                    == nil)
        }
        #expect(warnings.all.count == 1)
        let warning = warnings.all.first ?? ""
        #expect(warning.hasPrefix("warning: remote cache https://127.0.0.1:"), "\(warning)")
        #expect(warning.contains("certificate"), "\(warning)")
        #expect(!warning.contains("Domain="), "\(warning)")
    }

    @Test func uploadsOffNeverWrite() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let dir = try TemporaryDirectory("kbuild-remote")
        defer { dir.remove() }
        let outputs = try Self.outputs(in: dir.path)
        let cache = RemoteCache(client: RemoteCacheClient(base: server.url), upload: false, warn: { _ in })
        await cache.store(key: Self.key, outputs: outputs, root: dir.path, payload: Data())
        #expect(try FileManager.default.contentsOfDirectory(atPath: server.root).isEmpty)
        #expect(cache.summary.hasSuffix("0 fetched, 0 missed, uploads off"), "\(cache.summary)")
    }

    @Test func actionRecordReadsBazelRemoteJSON() throws {
        // bazel-remote answers `Accept: application/json` with protojson: defaults left out, int64 as string.
        let json = """
            {"outputFiles":[{"path":"_output/a","digest":{"hash":"\(Self.key)","sizeBytes":"12"}},
            {"path":"_output/b","digest":{"hash":"\(Self.key)"},"isExecutable":true}]}
            """
        let record = try JSONDecoder().decode(ActionRecord.self, from: Data(json.utf8))
        #expect(record.outputFiles.map(\.digest.sizeBytes) == [12, 0])
        #expect(record.outputFiles.map(\.isExecutable) == [false, true])
        #expect(record.stdoutRaw.isEmpty)
        let written = String(
            decoding: ActionRecord(outputFiles: record.outputFiles, stdoutRaw: Data("x".utf8)).encoded(), as: UTF8.self)
        #expect(written.contains("\"sizeBytes\":\"12\"") && written.contains("\"stdoutRaw\":\"eA==\""), "\(written)")
    }
}
