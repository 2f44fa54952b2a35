import Foundation
import KbuildCore
import TestSupport
import Testing

/// The first thing a newcomer does, literally: a fresh `git clone` of this repository, the README's quick-start
/// commands (`make release` releases `examples/`, a workspace below the repository's top), then `kbuild verify`
/// in `examples/`. `KBUILD_BIN` makes build/release.sh use the kbuild under test instead of building Swift again.
@Suite struct QuickStartTests {
    /// The commands of the README's `## Quick start` shell block, comments stripped; `make test` is left out
    /// (it is what runs this test).
    static func quickStartCommands() throws -> [String] {
        let readme = try String(contentsOfFile: Repository.root + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "## Quick start")).upperBound
        let fence = try #require(readme.range(of: "```sh\n", range: section..<readme.endIndex))
        let end = try #require(readme.range(of: "```", range: fence.upperBound..<readme.endIndex))
        return readme[fence.upperBound..<end.lowerBound].split(separator: "\n")
            .map { String($0.prefix { $0 != "#" }).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0 != "make test" }
    }

    @Test func aFreshCloneReleasesExamplesAndVerifies() async throws {
        let commands = try Self.quickStartCommands()
        #expect(commands.contains("make release"), "\(commands)")
        let directory = try TemporaryDirectory("kbuild-quick-start")
        defer { directory.remove() }
        let clone = directory.appending("kbuild")
        try await Tool.check("git", ["clone", "-q", Repository.root, clone])
        var environment: [String: String?] = [
            "KBUILD_BIN": Repository.kbuildBinary, "KBUILD_GOCACHE": SharedGoCache.path, "WORKSPACE": nil,
        ]
        for name in ProcessInfo.processInfo.environment.keys where name.hasPrefix("KUBE_") {
            environment[name] = .some(nil)
        }
        for command in commands {
            let result = try await Tool.run("/bin/sh", ["-c", command], in: clone, environment: environment)
            try #require(result.succeeded, "\(command): \(result.stdout)\(result.stderr)")
        }
        let verified = try await runKbuild(["verify"], in: clone + "/examples")
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("ok   source     kubernetes-src.tar.gz: exactly the "), "\(verified.stdout)")
        #expect(
            verified.stdout.split(separator: "\n").last?.hasPrefix("verified: ") == true
                && verified.stdout.hasSuffix(" checks passed\n"), "\(verified.stdout)")
    }
}
