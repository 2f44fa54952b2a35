import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild release --remote-cache` against a real nginx: a second clone elsewhere, with empty local and
/// Go caches, releases the same bytes without running `go build`; a server that dies or serves a
/// corrupt blob never fails a release.
@Suite(.serialized) struct RemoteCacheEndToEndTests {
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000",
        "KBUILD_GOCACHE": SharedGoCache.path, "KBUILD_REMOTE_CACHE": nil, "KBUILD_REMOTE_CACHE_UPLOAD": nil,
    ]

    func release(_ workspace: String, _ arguments: [String], _ extra: [String: String?] = [:]) async throws
        -> CommandResult
    {
        var env = Self.environment
        env.merge(extra) { $1 }
        let result = try await Tool.run(
            Repository.kbuildBinary, ["release"] + arguments, in: workspace, environment: env)
        try #require(result.succeeded, "\(result.stderr)\n\(result.stdout)")
        return result
    }

    /// A `go` that logs its subcommand to `log` (and, on `build`, first kills `victim`), then runs the real go.
    /// kbuild runs Go with a cleared environment, so everything it needs is written into the script.
    /// Building the version-variable probe (a tool of kbuild's, not a release binary) logs `probe`.
    func goWrapper(in directory: String, log: String, killingOnBuild victim: pid_t? = nil) throws -> String {
        let real = try #require(
            ExecutableLookup.find("go", path: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
        let kill = victim.map { "if [ \"$sub\" = build ]; then kill -9 \($0) 2>/dev/null; fi\n" } ?? ""
        let script = directory + "/go"
        let subcommand = "sub=\"$1\"; case \"$*\" in *kbuild-version-probe*) sub=probe ;; esac\n"
        try "#!/bin/sh\n\(subcommand)echo \"$sub\" >> '\(log)'\n\(kill)exec '\(real)' \"$@\"\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        return script
    }

    func goCommands(_ log: String) -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func contents(_ directory: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            result[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return result
    }

    func builtCount(_ stdout: String) -> Int? {
        let line = stdout.split(separator: "\n").first { $0.hasPrefix("build: ") }
        return line.flatMap { Int($0.dropFirst("build: ".count).prefix { $0.isNumber }) }
    }

    @Test func secondCloneElsewhereReleasesTheSameBytesWithoutGoBuild() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let dir = try TemporaryDirectory("kbuild-remote-e2e")
        defer { dir.remove() }
        let first = dir.appending("a/ws")
        _ = try await Repository.exampleWorkspace(in: first, tag: "v1.5.0")
        let filled = try await release(first, ["--remote-cache", server.url])
        let builds = try #require(builtCount(filled.stdout), "\(filled.stdout)")
        #expect(builds > 0)
        #expect(
            filled.stdout.contains("remote cache \(server.url): 0 fetched, \(builds) missed, \(builds) uploaded"),
            "\(filled.stdout)")

        // Another directory, another depth; empty _output and an empty Go cache; `go` logs what it is asked.
        let second = dir.appending("elsewhere/deeper/ws")
        try await Tool.check("git", ["clone", "-q", first, second])
        let emptyGoCache = dir.appending("empty-gocache")
        try FileManager.default.createDirectory(atPath: emptyGoCache, withIntermediateDirectories: true)
        let log = dir.appending("go.log")
        let go = try goWrapper(in: dir.path, log: log)
        let fed = try await release(
            second, ["--remote-cache", server.url], ["KBUILD_GOCACHE": emptyGoCache, "GO": go])
        #expect(!goCommands(log).isEmpty, "the wrapper was not used")
        #expect(!goCommands(log).contains("build"), "go was asked to build: \(goCommands(log))")
        #expect(builtCount(fed.stdout) == 0, "\(fed.stdout)")
        #expect(
            fed.stdout.contains("remote cache \(server.url): \(builds) fetched, 0 missed, 0 uploaded"), "\(fed.stdout)")
        #expect(fed.stderr.isEmpty, "\(fed.stderr)")

        // Byte-identical: every release file and every binary.
        #expect(try contents(second + "/_output/release-tars") == (try contents(first + "/_output/release-tars")))
        let bin = "/_output/local/bin/linux/amd64"
        #expect(try contents(second + bin) == (try contents(first + bin)))
        #expect(FileManager.default.isExecutableFile(atPath: second + bin + "/kube-proxy"))
        try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: second + "/_output/release-tars")

        // A pull-request job (uploads off) reads but never writes.
        let readOnly = try await NginxServer.start()
        defer { readOnly.stop() }
        let third = dir.appending("third")
        try await Tool.check("git", ["clone", "-q", first, third])
        // The flag wins over the variable.
        let pr = try await release(
            third, ["--remote-cache-upload=false"],
            ["KBUILD_REMOTE_CACHE": readOnly.url, "KBUILD_REMOTE_CACHE_UPLOAD": "true"])
        #expect(pr.stdout.contains("\(builds) missed, uploads off"), "\(pr.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: readOnly.root).isEmpty)
    }

    @Test func serverKilledMidRunLeavesALocalReleaseAndOneWarning() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let dir = try TemporaryDirectory("kbuild-remote-e2e")
        defer { dir.remove() }
        let workspace = dir.appending("ws")
        _ = try await Repository.exampleWorkspace(in: workspace)
        // Lookups reach the live server (misses); `go build` kills it, so the uploads find it dead.
        let log = dir.appending("go.log")
        let go = try goWrapper(in: dir.path, log: log, killingOnBuild: server.pid)
        let result = try await release(workspace, ["--remote-cache", server.url], ["GO": go])
        #expect(goCommands(log).contains("build"))
        let warnings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: remote cache ") }
        #expect(warnings.count == 1, "\(result.stderr)")
        #expect(warnings.first?.hasSuffix("connection refused; building locally") == true, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: workspace + "/_output/release-tars")
    }

    @Test func corruptBlobOnTheServerIsRebuiltAndRepaired() async throws {
        let server = try await NginxServer.start()
        defer { server.stop() }
        let dir = try TemporaryDirectory("kbuild-remote-e2e")
        defer { dir.remove() }
        let first = dir.appending("ws1")
        _ = try await Repository.exampleWorkspace(in: first)
        _ = try await release(first, ["--remote-cache", server.url])

        let binary = "/_output/local/bin/linux/amd64/kube-proxy"
        let digest = String(try await Tool.check("sha256sum", [first + binary]).prefix(64))
        let blob = server.root + "/cas/" + digest
        let size = try #require(FileManager.default.contents(atPath: blob)).count
        try Data(repeating: 0x5a, count: size).write(to: URL(fileURLWithPath: blob))

        let second = dir.appending("ws2")
        try await Tool.check("git", ["clone", "-q", first, second])
        let log = dir.appending("go.log")
        let result = try await release(
            second, ["--remote-cache", server.url], ["GO": try goWrapper(in: dir.path, log: log)])
        #expect(builtCount(result.stdout) == 1, "\(result.stdout)")
        #expect(goCommands(log).contains("build"))
        #expect(result.stdout.contains("1 corrupt blob ignored"), "\(result.stdout)")
        #expect(try contents(second + "/_output/release-tars") == (try contents(first + "/_output/release-tars")))
        // The local rebuild's upload put the right bytes back.
        #expect(String(try await Tool.check("sha256sum", [blob]).prefix(64)) == digest)
    }

    @Test func badRemoteCacheValuesAreOneLineErrors() async throws {
        let dir = try TemporaryDirectory("kbuild-remote-e2e")
        defer { dir.remove() }
        let workspace = dir.appending("ws")
        _ = try await Repository.exampleWorkspace(in: workspace)
        let cases: [([String], [String: String?], String)] = [
            (
                ["--remote-cache", "ftp://cache"], [:],
                "error: --remote-cache \"ftp://cache\": scheme ftp is not supported; allowed: http://HOST[:PORT][/PATH]"
            ),
            (
                ["--remote-cache", "http://cache:70000"], [:],
                "error: --remote-cache \"http://cache:70000\": port 70000 is not in 1-65535"
            ),
            ([], ["KBUILD_REMOTE_CACHE": "cache:8080"], "error: KBUILD_REMOTE_CACHE \"cache:8080\": no scheme"),
            (
                [], ["KBUILD_REMOTE_CACHE": "http://cache", "KBUILD_REMOTE_CACHE_UPLOAD": "maybe"],
                "error: KBUILD_REMOTE_CACHE_UPLOAD \"maybe\": not a boolean; allowed: true, false, 1, 0"
            ),
            (
                [], ["KBUILD_REMOTE_CACHE": "http://cache", "KBUILD_REMOTE_CACHE_TIMEOUT": "0.5"],
                "error: KBUILD_REMOTE_CACHE_TIMEOUT \"0.5\": not a whole number of seconds in 1-600"
            ),
        ]
        for (arguments, environment, expected) in cases {
            var env = Self.environment
            env.merge(environment) { $1 }
            let result = try await Tool.run(
                Repository.kbuildBinary, ["release"] + arguments, in: workspace, environment: env)
            #expect(!result.succeeded)
            #expect(result.stderr.hasPrefix(expected), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: workspace + "/_output/release-tars"))
        }
    }
}
