import Foundation
import KbuildCore
import TestSupport
import Testing

/// The first thing a newcomer does, literally: a fresh `git clone` of this repository, the README's block that
/// runs `make release` (it releases `examples/`, a workspace below the repository's top) as one script with
/// kbuild on PATH, then `kbuild verify` in `examples/`. `KBUILD_PREBUILT` makes build/release.sh use the kbuild under test instead of building Swift again.
@Suite struct QuickStartTests {
    /// The README's shell block that runs `make release` (the example workspace's quick start), without
    /// `make test` (it is what runs this test).
    static func quickStartScript() throws -> String {
        let readme = try String(contentsOfFile: Repository.root + "/README.md", encoding: .utf8)
        let blocks = readme.components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        let block = try #require(
            blocks.first { $0.split(separator: "\n").contains { $0.hasPrefix("make release") } },
            "no sh block of README.md runs make release")
        return block.split(separator: "\n").filter { !$0.hasPrefix("make test") }.joined(separator: "\n")
    }

    @Test func aFreshCloneReleasesExamplesAndVerifies() async throws {
        let script = try Self.quickStartScript()
        let directory = try TemporaryDirectory("kbuild-quick-start")
        defer { directory.remove() }
        let clone = directory.appending("kbuild")
        try await Tool.check("git", ["clone", "-q", Repository.root, clone])
        // kbuild on PATH, as the README assumes after make release; no KUBE_* override of the caller's.
        let path = Paths.parent(of: Repository.kbuildBinary) + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "")
        var environment: [String: String?] = [
            "KBUILD_PREBUILT": Repository.kbuildBinary, "KBUILD_GOCACHE": SharedGoCache.path, "WORKSPACE": nil,
            "PATH": path,
        ]
        for name in ProcessInfo.processInfo.environment.keys where name.hasPrefix("KUBE_") {
            environment[name] = .some(nil)
        }
        let result = try await Tool.run("/bin/sh", ["-e", "-c", script], in: clone, environment: environment)
        try #require(result.succeeded, "\(script): \(result.stdout)\(result.stderr)")
        let verified = try await runKbuild(["verify"], in: clone + "/examples")
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("ok   source     kubernetes-src.tar.gz: exactly the "), "\(verified.stdout)")
        #expect(
            verified.stdout.split(separator: "\n").last?.hasPrefix("verified: ") == true
                && verified.stdout.hasSuffix(" checks passed\n"), "\(verified.stdout)")
    }
}
