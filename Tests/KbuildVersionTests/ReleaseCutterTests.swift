import Foundation
import KbuildCore
import KbuildVersion
import TestSupport
import Testing

private let baseGo = """
    package version

    var (
    \tgitVersion   string = "v0.4-dev" // set by kbuild cut
    \tgitCommit    string = ""
    \tgitTreeState string = "not a git tree"
    )

    """

private func withCutRepository(_ body: (GitRepository, ReleaseCutter) async throws -> Void) async throws {
    let directory = try TemporaryDirectory("kbuild-cut")
    defer { directory.remove() }
    let repo = try await GitRepository.create(at: directory.path)
    try repo.write("pkg/version/base.go", baseGo)
    try repo.write("main.go", "package main\n\nfunc main() {}\n")
    try await repo.commitAll("Initial commit")
    try await repo.git("tag", "-a", "v0.4", "-m", "v0.4", "HEAD")
    try await body(repo, ReleaseCutter(gitEnvironment: GitRepository.environment()))
}

/// Everything git knows about the repository's refs and tree, to prove nothing changed.
private func snapshot(_ repo: GitRepository) async throws -> String {
    let refs = try await repo.git("show-ref")
    let status = try await repo.git("status", "--porcelain")
    let base = try String(contentsOfFile: repo.path + "/pkg/version/base.go", encoding: .utf8)
    return refs + "\n--\n" + status + "\n--\n" + base
}

@Suite struct ReleaseCutterTests {
    @Test func cutEndToEnd() async throws {
        try await withCutRepository { repo, cutter in
            let plan = try await cutter.cut(version: "v0.5", workspace: repo.path)
            #expect(plan.previousVersion == "v0.4-dev")
            #expect(plan.developmentVersion == "v0.5-dev")

            // Two commits, in order, and the annotated tag on the first.
            let log = try await repo.git("log", "--format=%s", "-3")
            #expect(log == "Begin development after v0.5\nRelease v0.5\nInitial commit")
            #expect(try await repo.git("cat-file", "-t", "v0.5") == "tag")
            #expect(try await repo.git("rev-parse", "v0.5^{commit}") == (try await repo.git("rev-parse", "HEAD~1")))
            #expect(try await repo.git("status", "--porcelain") == "")

            // base.go at the tag says v0.5, and after it v0.5-dev; nothing else in it changed.
            let tagged = try await repo.git("show", "v0.5:pkg/version/base.go")
            #expect(tagged + "\n" == baseGo.replacingOccurrences(of: "\"v0.4-dev\"", with: "\"v0.5\""))
            let current = try String(contentsOfFile: repo.path + "/pkg/version/base.go", encoding: .utf8)
            #expect(current == baseGo.replacingOccurrences(of: "\"v0.4-dev\"", with: "\"v0.5-dev\""))
            #expect(try BaseFile.parse(current, path: "base.go").gitVersion == "v0.5-dev")

            // `kbuild version` one commit after the tag, and on the tag.
            let resolver = VersionResolver()
            let hash = String(try await repo.git("rev-parse", "HEAD").prefix(14))
            let after = try await resolver.resolve(
                workspace: repo.path, environment: [:], baseFile: "pkg/version/base.go", style: .semver)
            #expect(after.version == "v0.5-1+\(hash)")
            #expect(after.minor == "5+")
            try await repo.git("checkout", "-q", "v0.5")
            let onTag = try await resolver.resolve(
                workspace: repo.path, environment: [:], baseFile: "pkg/version/base.go", style: .semver)
            #expect(onTag.version == "v0.5")
            #expect(onTag.minor == "5")
        }
    }

    @Test func dryRunChangesNothing() async throws {
        try await withCutRepository { repo, cutter in
            let before = try await snapshot(repo)
            let plan = try await cutter.cut(version: "v0.5.1-rc.1", workspace: repo.path, dryRun: true)
            #expect(try await snapshot(repo) == before)
            #expect(
                plan.steps == [
                    "set gitVersion in pkg/version/base.go: \"v0.4-dev\" -> \"v0.5.1-rc.1\"",
                    "git commit -m \"Release v0.5.1-rc.1\"",
                    "git tag -a v0.5.1-rc.1 -m \"v0.5.1-rc.1\"",
                    "set gitVersion in pkg/version/base.go: \"v0.5.1-rc.1\" -> \"v0.5.1-rc.1-dev\"",
                    "git commit -m \"Begin development after v0.5.1-rc.1\"",
                ])
        }
    }

    @Test func refusesDirtyTree() async throws {
        try await withCutRepository { repo, cutter in
            try repo.write("untracked.go", "package main\n")
            let before = try await snapshot(repo)
            await #expect {
                try await cutter.cut(version: "v0.5", workspace: repo.path)
            } throws: { error in
                guard case .dirtyTree(_, let first) = error as? VersionError else { return false }
                return first.contains("untracked.go")
            }
            #expect(try await snapshot(repo) == before)
        }
    }

    @Test func refusesExistingTag() async throws {
        try await withCutRepository { repo, cutter in
            let before = try await snapshot(repo)
            await #expect(throws: VersionError.tagExists("v0.4")) {
                try await cutter.cut(version: "v0.4", workspace: repo.path)
            }
            #expect(try await snapshot(repo) == before)
        }
    }

    @Test(arguments: ["0.5", "v0", "vfoo", "v0.5+build", "v0.5-", "release-0.5", ""])
    func refusesBadVersion(version: String) async throws {
        try await withCutRepository { repo, cutter in
            let before = try await snapshot(repo)
            await #expect(throws: VersionError.invalidReleaseVersion(version)) {
                try await cutter.cut(version: version, workspace: repo.path)
            }
            #expect(try await snapshot(repo) == before)
        }
    }

    @Test func refusesBaseGoWithoutGitVersion() async throws {
        try await withCutRepository { repo, cutter in
            try repo.write("pkg/version/base.go", "package version\n\nvar gitCommit = \"\"\n")
            try await repo.commitAll("drop gitVersion")
            let before = try await snapshot(repo)
            await #expect(
                throws: VersionError.baseFileWithoutVersion(path: repo.path + "/pkg/version/base.go")
            ) {
                try await cutter.cut(version: "v0.5", workspace: repo.path)
            }
            #expect(try await snapshot(repo) == before)
        }
    }

    @Test func refusesOutsideGit() async throws {
        let directory = try TemporaryDirectory("kbuild-cut-nogit")
        defer { directory.remove() }
        await #expect(throws: VersionError.notAGitRepository(directory.path)) {
            try await ReleaseCutter().cut(version: "v0.5", workspace: directory.path)
        }
    }
}
