import Foundation
import KbuildCore
import KbuildVersion
import Synchronization
import TestSupport
import Testing

/// issue 13, item 1: base.go is the fallback for "no repository" and "no v* tag" only; a repository
/// git cannot read is an error, and a shallow clone without tags is said out loud.
@Suite struct RepositoryStateTests {
    static let baseGo = "package version\nvar gitVersion = \"v0.5-dev\"\n"

    private func repository(_ label: String) async throws -> (TemporaryDirectory, GitRepository) {
        let directory = try TemporaryDirectory("kbuild-repo-state-" + label)
        let repo = try await GitRepository.create(at: directory.appending("ws"))
        try repo.write("pkg/version/base.go", Self.baseGo)
        try await repo.commitAll("Initial commit")
        try await repo.git("tag", "-a", "v0.4.0", "-m", "v0.4.0")
        try await repo.commitAll("after the tag")
        return (directory, repo)
    }

    @Test func aCorruptGitDirectoryIsAnErrorNotBaseGo() async throws {
        let (directory, repo) = try await repository("corrupt")
        defer { directory.remove() }
        try "garbage\n".write(toFile: repo.path + "/.git/HEAD", atomically: true, encoding: .utf8)
        await #expect {
            try await VersionResolver().resolve(workspace: repo.path, environment: ["SOURCE_DATE_EPOCH": "0"])
        } throws: { error in
            guard case .unreadableRepository(let workspace, let message) = error as? VersionError else { return false }
            return workspace == repo.path && message.contains("not a git repository")
        }
        // The source date does not silently become 1970 either.
        await #expect(throws: VersionError.self) {
            try await VersionResolver().sourceDate(workspace: repo.path, environment: [:])
        }
    }

    @Test func aRepositoryWithoutCommitsStillFallsBackToBaseGo() async throws {
        let directory = try TemporaryDirectory("kbuild-repo-state-empty")
        defer { directory.remove() }
        let repo = try await GitRepository.create(at: directory.path)
        try repo.write("pkg/version/base.go", Self.baseGo)
        let info = try await VersionResolver().resolve(workspace: repo.path, environment: ["SOURCE_DATE_EPOCH": "0"])
        #expect(info.version == "v0.5-dev" && info.source == .baseGo)
    }

    @Test func aShallowCloneWithoutTagsWarnsOrFailsWhenStrict() async throws {
        let (directory, repo) = try await repository("shallow")
        defer { directory.remove() }
        let clone = directory.appending("clone")
        try await Tool.check("git", ["clone", "-q", "--depth", "1", "file://" + repo.path, clone])
        let warnings = Mutex<[String]>([])
        let info = try await VersionResolver().resolve(
            workspace: clone, environment: ["SOURCE_DATE_EPOCH": "0"], warn: { line in warnings.withLock { $0.append(line) } })
        #expect(info.version == "v0.5-dev" && info.source == .baseGo)
        let said = warnings.withLock { $0 }
        #expect(said == [VersionError.shallowWithoutTags(workspace: clone, fallback: "v0.5-dev").description])
        for (strict, environment) in [(true, [:]), (false, ["CI": "true"])] {
            await #expect(throws: VersionError.shallowWithoutTags(workspace: clone, fallback: "v0.5-dev")) {
                try await VersionResolver().resolve(
                    workspace: clone, environment: environment.merging(["SOURCE_DATE_EPOCH": "0"]) { $1 }, strict: strict)
            }
        }
        // The full clone of the same commit describes it from the tag, without a word.
        let full = try await VersionResolver().resolve(
            workspace: repo.path, environment: ["SOURCE_DATE_EPOCH": "0", "CI": "true"], strict: true)
        #expect(full.version.hasPrefix("v0.4.0-1+"))
    }
}
