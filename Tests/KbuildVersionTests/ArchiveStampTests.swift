import Foundation
import KbuildCore
import KbuildVersion
import TestSupport
import Testing

/// A workspace unpacked from a real `git archive` knows its version from the `export-subst`
/// placeholders: Kubernetes' hack/lib/version.sh, or kbuild's own `.kbuild-archive-version`.
@Suite struct ArchiveStampTests {
    static let baseGo = "package version\nvar gitVersion = \"v0.5.0-master\"\n"
    /// The lines of Kubernetes' hack/lib/version.sh that carry the placeholders (comment included:
    /// its example tag must not be taken for the archive's).
    static let versionSh = """
        kube::version::get_version_vars() {
          if [[ '$Format:%%$' == "%" ]]; then
            KUBE_GIT_COMMIT='$Format:%H$'
            KUBE_GIT_TREE_STATE="archive"
            # When a 'git archive' is exported, the '$Format:%D$' below will look
            # something like 'HEAD -> release-1.8, tag: v1.8.3' where then 'tag: '
            # can be extracted from it.
            if [[ '$Format:%D$' =~ tag:\\ (v[^ ,]+) ]]; then
             KUBE_GIT_VERSION="${BASH_REMATCH[1]}"
            fi
          fi
        }

        """

    /// A repository carrying `file` (with `export-subst`), tagged `tag` if given, `git archive`d and
    /// unpacked with GNU tar: the unpacked directory and the archived commit.
    func unpackedArchive(_ label: String, file: String, contents: String, tag: String?) async throws -> (
        TemporaryDirectory, String, String
    ) {
        let directory = try TemporaryDirectory("kbuild-archive-" + label)
        let repo = try await GitRepository.create(at: directory.appending("repo"))
        try repo.write("pkg/version/base.go", Self.baseGo)
        try repo.write(file, contents)
        try repo.write(".gitattributes", "/\(file) export-subst\n")
        try await repo.commitAll("Initial commit")
        if let tag { try await repo.git("tag", "-a", tag, "-m", tag) }
        let commit = try await repo.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
        let tarball = directory.appending("archive.tar")
        try await repo.git("archive", "--format=tar", "--prefix=unpacked/", "-o", tarball, "HEAD")
        try await Tool.check("tar", ["-xf", tarball, "-C", directory.path])
        return (directory, directory.appending("unpacked"), commit)
    }

    @Test func kubernetesVersionShOfATaggedCommit() async throws {
        let (directory, workspace, commit) = try await unpackedArchive(
            "k8s", file: ArchiveStamp.kubernetesFile, contents: Self.versionSh, tag: "v1.8.3")
        defer { directory.remove() }
        #expect(!FileManager.default.fileExists(atPath: workspace + "/.git"))
        let info = try await VersionResolver().resolve(workspace: workspace, environment: ["SOURCE_DATE_EPOCH": "0"])
        #expect(info.version == "v1.8.3")
        #expect((info.major, info.minor) == ("1", "8"))
        #expect(info.commit == commit)
        #expect(info.treeState == "archive")
        #expect(info.source == .archive)
    }

    @Test func kbuildsOwnFileOfATaggedCommit() async throws {
        let (directory, workspace, commit) = try await unpackedArchive(
            "kbuild", file: ArchiveStamp.kbuildFile, contents: ArchiveStamp.kbuildTemplate, tag: "v2.0.1-rc.1")
        defer { directory.remove() }
        let info = try await VersionResolver().resolve(workspace: workspace, environment: ["SOURCE_DATE_EPOCH": "0"])
        #expect(info.version == "v2.0.1-rc.1")
        // Without SOURCE_DATE_EPOCH the build date is the archived commit's (GitRepository's fixed date).
        let dated = try await VersionResolver().resolve(workspace: workspace, environment: [:])
        #expect(dated.buildDate == "2024-01-02T03:04:05Z")
        #expect(info.commit == commit && info.treeState == "archive" && info.source == .archive)
    }

    @Test func anUntaggedCommitKeepsBaseGosVersionWithTheArchivesCommit() async throws {
        let (directory, workspace, commit) = try await unpackedArchive(
            "untagged", file: ArchiveStamp.kubernetesFile, contents: Self.versionSh, tag: nil)
        defer { directory.remove() }
        let info = try await VersionResolver().resolve(workspace: workspace, environment: ["SOURCE_DATE_EPOCH": "0"])
        #expect(info.version == "v0.5.0-master")
        #expect(info.commit == commit && info.treeState == "archive" && info.source == .archive)
    }

    @Test func theEnvironmentStillWinsAndACheckoutIsNotAnArchive() async throws {
        let (directory, workspace, _) = try await unpackedArchive(
            "env", file: ArchiveStamp.kubernetesFile, contents: Self.versionSh, tag: "v1.8.3")
        defer { directory.remove() }
        let info = try await VersionResolver().resolve(
            workspace: workspace, environment: ["SOURCE_DATE_EPOCH": "0", "KUBE_GIT_TREE_STATE": "clean"])
        #expect(info.version == "v1.8.3" && info.treeState == "clean")
        // In the repository itself the placeholders are unfilled: git describe decides.
        #expect(ArchiveStamp.read(workspace: directory.appending("repo")) == nil)
    }
}
