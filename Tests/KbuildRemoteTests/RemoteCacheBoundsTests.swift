import Foundation
import KbuildCore
import KbuildRemote
import TestSupport
import Testing

/// A hostile cache server (Tests/Fixtures/hostile-cache-server.py) against `RemoteCache.fetch`: each
/// misbehaviour ends in one warning saying what happened, within the time bound, with nothing left
/// in the workspace and no more written than the record declared.
@Suite(.serialized) struct RemoteCacheBoundsTests {
    static let output = "_output/local/bin/linux/amd64/tool"
    static let key = String(repeating: "ab", count: 32)
    static let blob = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    struct Run {
        var warnings: [String]
        var seconds: Double
        /// Every file left under the workspace (the fetch may create directories, never files).
        var files: [String]
        var sent: Int64?
        var url: String
    }

    /// Fetches one output from a server in `mode` whose record declares `declared` bytes.
    static func fetch(mode: String, declared: Int64, timeout: Double = 30) async throws -> Run {
        let dir = try TemporaryDirectory("kbuild-hostile")
        defer { dir.remove() }
        let server = try await HostileCacheServer(mode: mode, output: output, declared: declared, scratch: dir.path)
        defer { server.stop() }
        let root = dir.appending("workspace")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let warnings = RemoteCacheTests.Warnings()
        let cache = RemoteCache(client: RemoteCacheClient(base: server.url, timeout: timeout), warn: warnings.add)
        let clock = ContinuousClock()
        let start = clock.now
        let payload = await cache.fetch(
            key: key, outputs: [root + "/" + output], root: root, scratch: root + "/_output/cache/build")
        let elapsed = clock.now - start
        #expect(payload == nil)
        // The server notices the closed connection a moment later.
        try await Task.sleep(for: .milliseconds(300))
        var files: [String] = []
        if let walker = FileManager.default.enumerator(atPath: dir.path) {
            while let name = walker.nextObject() as? String {
                var info = stat()
                if lstat(dir.appending(name), &info) == 0, info.st_mode & S_IFMT != S_IFDIR,
                    !name.hasPrefix("server-stats")
                {
                    files.append(name)
                }
            }
        }
        return Run(
            warnings: warnings.all, seconds: Double(elapsed.components.seconds), files: files,
            sent: server.sentBytes, url: server.url)
    }

    @Test func anEndlessBodyStopsAtTheDeclaredSize() async throws {
        let run = try await Self.fetch(mode: "endless", declared: 8 << 20)
        #expect(run.warnings.count == 1)
        let prefix =
            "warning: remote cache \(run.url): cas/\(Self.blob): the body passed the 8.0 MiB the record declares ("
        #expect(run.warnings.first?.hasPrefix(prefix) == true, "\(run.warnings)")
        #expect(run.warnings.first?.hasSuffix(" received); building locally") == true, "\(run.warnings)")
        #expect(run.files.isEmpty, "\(run.files)")
    }

    @Test func theDiskHoldsNoMoreThanTheDeclaredSize() async throws {
        let dir = try TemporaryDirectory("kbuild-hostile")
        defer { dir.remove() }
        let server = try await HostileCacheServer(mode: "endless", output: Self.output, declared: 1, scratch: dir.path)
        defer { server.stop() }
        let file = dir.appending("download")
        let fd = open(file, O_WRONLY | O_CREAT, 0o600)
        defer { close(fd) }
        await #expect(throws: RemoteCacheError.self) {
            try await RemoteCacheClient(base: server.url).download("cas/" + Self.blob, into: fd, size: 3 << 20)
        }
        var info = stat()
        #expect(stat(file, &info) == 0)
        #expect(info.st_size <= 3 << 20, "\(info.st_size) bytes written")
    }

    @Test func anAnnouncedPetabyteIsRefusedBeforeItsBody() async throws {
        let run = try await Self.fetch(mode: "announce", declared: 8 << 20)
        #expect(
            run.warnings == [
                "warning: remote cache \(run.url): cas/\(Self.blob): the server announced 909.5 TiB, more than the 8.0 MiB the record declares; building locally"
            ])
        #expect(run.files.isEmpty, "\(run.files)")
    }

    @Test func aBodyClosedEarlySaysHowFarItCame() async throws {
        let run = try await Self.fetch(mode: "short", declared: 64 << 20)
        #expect(
            run.warnings == [
                "warning: remote cache \(run.url): cas/\(Self.blob): the body ended after 32.0 MiB of the 64.0 MiB declared (network error: transfer closed with 33554432 bytes remaining to read); building locally"
            ])
        #expect(run.files.isEmpty, "\(run.files)")
    }

    @Test func aTricklingServerIsCutAtTheTimeout() async throws {
        let run = try await Self.fetch(mode: "trickle", declared: 100, timeout: 3)
        #expect(run.warnings.count == 1)
        let prefix = "warning: remote cache \(run.url): cas/\(Self.blob): the transfer took over 3 s ("
        #expect(run.warnings.first?.hasPrefix(prefix) == true, "\(run.warnings)")
        // Bounded by the timeout (3 s) plus scheduling, not by the 200 s the server would take.
        #expect(run.seconds < 8, "\(run.seconds) s")
        #expect(run.files.isEmpty, "\(run.files)")
    }

    /// Answers refused before any body is written: a redirect (not followed), a record naming paths
    /// outside the workspace, a record declaring more than the cap. Each is one exact warning.
    static let refusals: [(mode: String, warning: String)] = [
        (
            "redirect",
            "cas/\(blob): HTTP 302 redirect to \"http://127.0.0.1:9/cas/\(blob)\"; redirects are not followed: give the cache's own URL"
        ),
        ("escape", "ac/\(key): the record names an output outside the workspace: \"../../escaped\"; refused"),
        (
            "huge",
            "ac/\(key): the record declares 909.5 TiB for \"\(output)\", over the 2.0 GiB cap (KBUILD_REMOTE_CACHE_MAX_BYTES); refused"
        ),
    ]

    @Test(arguments: refusals) func aRefusedAnswerIsOneWarning(mode: String, warning: String) async throws {
        let run = try await Self.fetch(mode: mode, declared: 1)
        #expect(run.warnings == ["warning: remote cache \(run.url): \(warning); building locally"])
        #expect(run.files.isEmpty, "\(run.files)")
        // A refused record asks for no blob at all.
        if mode != "redirect" { #expect(run.sent == nil) }
    }
}
