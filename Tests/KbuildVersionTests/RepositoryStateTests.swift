import Foundation
import KbuildCore
import KbuildVersion
import Synchronization
import TestSupport
import Testing

/// base.go is the fallback for "no repository" and "no v* tag" only; a repository
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
            workspace: clone, environment: ["SOURCE_DATE_EPOCH": "0"],
            warn: { line in warnings.withLock { $0.append(line) } })
        #expect(info.version == "v0.5-dev" && info.source == .baseGo)
        let said = warnings.withLock { $0 }
        #expect(said == [VersionError.shallowWithoutTags(workspace: clone, fallback: "v0.5-dev").description])
        for (strict, environment) in [(true, [:]), (false, ["CI": "true"])] {
            await #expect(throws: VersionError.shallowWithoutTags(workspace: clone, fallback: "v0.5-dev")) {
                try await VersionResolver().resolve(
                    workspace: clone, environment: environment.merging(["SOURCE_DATE_EPOCH": "0"]) { $1 },
                    strict: strict)
            }
        }
        // The full clone of the same commit describes it from the tag, without a word.
        let full = try await VersionResolver().resolve(
            workspace: repo.path, environment: ["SOURCE_DATE_EPOCH": "0", "CI": "true"], strict: true)
        #expect(full.version.hasPrefix("v0.4.0-1+"))
    }

    /// KUBE_GIT_MAJOR/MINOR as hack/lib/version.sh treats them: a version from git
    /// (a tag, or KUBE_GIT_VERSION in a repository) always sets major and minor; without git, or when
    /// the version falls back to base.go, the variables are stamped as given.
    @Test func majorAndMinorOverridesFollowVersionSh() async throws {
        let (directory, repo) = try await repository("major-minor")
        defer { directory.remove() }
        let env = ["SOURCE_DATE_EPOCH": "0", "KUBE_GIT_MAJOR": "7", "KUBE_GIT_MINOR": "3+"]
        let tagged = try await VersionResolver().resolve(workspace: repo.path, environment: env)
        #expect((tagged.major, tagged.minor) == ("0", "4+") && tagged.version.hasPrefix("v0.4.0-1+"))
        let given = try await VersionResolver().resolve(
            workspace: repo.path, environment: env.merging(["KUBE_GIT_VERSION": "v2.5.0"]) { $1 })
        #expect((given.major, given.minor, given.version) == ("2", "5", "v2.5.0"))

        let bare = directory.appending("bare")
        try FileManager.default.createDirectory(atPath: bare + "/pkg/version", withIntermediateDirectories: true)
        try Self.baseGo.write(toFile: bare + "/pkg/version/base.go", atomically: true, encoding: .utf8)
        let noGit = try await VersionResolver().resolve(
            workspace: bare, environment: env.merging(["KUBE_GIT_VERSION": "v2.5.0"]) { $1 })
        #expect((noGit.major, noGit.minor, noGit.version) == ("7", "3+", "v2.5.0"))
        let baseGo = try await VersionResolver().resolve(workspace: bare, environment: env)
        #expect((baseGo.major, baseGo.minor, baseGo.version, baseGo.source) == ("7", "3+", "v0.5-dev", .baseGo))
        #expect(baseGo.ldflags(package: "p").contains("p.gitMajor=7"))
    }
}
