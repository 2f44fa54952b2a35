import Foundation
import KbuildCore
import TestSupport
import Testing

/// Issue 21's resource bounds, run through the CLI: a hostile shared cache costs one warning line, at
/// most its time bound, and no file in the workspace; the build goes on locally and succeeds.
@Suite(.serialized) struct ResourceBoundsTests {
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000",
        "KBUILD_GOCACHE": SharedGoCache.path, "KBUILD_REMOTE_CACHE_UPLOAD": "false",
    ]
    static let blob = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let output = "_output/local/bin/linux/amd64/kubectl"

    /// `kbuild build` of the example workspace against the hostile server in `mode`: its warning lines
    /// and what was left in `_output/cache/build` besides records.
    func build(mode: String, declared: Int64, timeout: Int) async throws -> (
        lines: [String], leftovers: [String], url: String
    ) {
        let dir = try TemporaryDirectory("kbuild-bounds")
        defer { dir.remove() }
        let workspace = dir.appending("ws")
        _ = try await Repository.exampleWorkspace(in: workspace)
        let server = try await HostileCacheServer(
            mode: mode, output: Self.output, declared: declared, scratch: dir.path)
        defer { server.stop() }
        var environment = Self.environment
        environment["KBUILD_REMOTE_CACHE"] = server.url
        environment["KBUILD_REMOTE_CACHE_TIMEOUT"] = String(timeout)
        // What a download killed with the process leaves: the next run removes it first.
        let records = workspace + "/_output/cache/build"
        try FileManager.default.createDirectory(atPath: records, withIntermediateDirectories: true)
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: records + "/.\(Self.blob).kbuild-tmp-99999-1"))
        let result = try await Tool.run(Repository.kbuildBinary, ["build"], in: workspace, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: records)) ?? []).filter {
            !$0.hasSuffix(".json")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appending("escaped")))
        let lines = result.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("warning: remote") }
        return (lines, leftovers, server.url)
    }

    @Test func aTricklingCacheCostsItsTimeoutOnce() async throws {
        let run = try await build(mode: "trickle", declared: 1000, timeout: 3)
        #expect(run.lines.count == 1, "\(run.lines)")
        let prefix = "warning: remote cache \(run.url): cas/\(Self.blob): the transfer took over 3 s ("
        #expect(run.lines.first?.hasPrefix(prefix) == true, "\(run.lines)")
        #expect(run.lines.first?.hasSuffix(" received); building locally") == true, "\(run.lines)")
        #expect(run.leftovers.isEmpty, "\(run.leftovers)")
    }

    @Test func aRecordWithHostilePathsIsOneWarning() async throws {
        let run = try await build(mode: "escape", declared: 1, timeout: 5)
        #expect(
            run.lines == [
                "warning: remote cache \(run.url): ac/\(Self.key(run.lines)): the record names an output outside the workspace: \"../../escaped\"; refused; building locally"
            ])
        #expect(run.leftovers.isEmpty, "\(run.leftovers)")
    }

    /// The key the warning names (the build's own content key, not known in advance).
    static func key(_ lines: [String]) -> String {
        guard let line = lines.first, let range = line.range(of: "ac/") else { return "?" }
        return String(line[range.upperBound...].prefix(64))
    }
}
