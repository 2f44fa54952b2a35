import Foundation
import KbuildCore
import TestSupport
import Testing

/// Hostile inputs that must succeed, and say what they should.
@Suite(.serialized) struct OutsideTestingTests {
    /// A shallow clone without tags releases base.go's version with exactly one warning line (not in CI).
    @Test func aShallowCloneWithoutTagsWarnsOnce() async throws {
        let fixture = try await Fixture("shallow-warning")
        defer { fixture.cleanup() }
        try await fixture.makeShallowClone()
        let result = try await GoodRelease.kbuild(["version", "--short"], in: fixture.workspace, ["CI": nil])
        #expect(result.succeeded, "\(result.stderr)")
        #expect(result.stdout == "v0.1-dev\n")
        let lines = result.stderr.split(separator: "\n")
        #expect(
            lines.count == 1 && lines.first?.hasPrefix("warning: \(fixture.workspace) is a shallow clone") == true,
            "\(result.stderr)")
        // The same workspace in CI is refused, one line, exit 1.
        let ci = try await GoodRelease.kbuild(["version"], in: fixture.workspace, ["CI": "true"])
        #expect(
            ci.status == 1 && ci.stdout.isEmpty && ci.stderr.hasPrefix("error: ")
                && ci.stderr.filter { $0 == "\n" }.count == 1)
    }

    /// A checkout owned by another uid works once the user trusts it the way the error says.
    @Test func aTrustedCheckoutOfAnotherUserReleases() async throws {
        let fixture = try await Fixture("trusted")
        defer { fixture.cleanup() }
        try await fixture.ownByAnotherUser()
        let home = try fixture.emptyHome()
        let refused = try await GoodRelease.kbuild(["version", "--short"], in: fixture.workspace, home)
        #expect(refused.status == 1, "\(refused.stdout)")
        try await Tool.check(
            "git", ["config", "--global", "--add", "safe.directory", fixture.workspace], environment: home)
        let trusted = try await GoodRelease.kbuild(["version", "--short"], in: fixture.workspace, home)
        #expect(trusted.succeeded && trusted.stdout == "v1.0.0\n", "\(trusted.stderr)")
    }

    /// The src tarball is `git ls-files` at HEAD: symlinks as symlinks (targets unchanged, even outside),
    /// the executable bit kept, committed bytes rather than the working tree's; checked with GNU tar.
    @Test func theSourceTarballIsTheCommit() async throws {
        let fixture = try await Fixture("src-tree")
        defer { fixture.cleanup() }
        let repo = fixture.repository
        try fixture.write("hack/run.sh", "#!/bin/sh\necho run\n")
        chmod(fixture.workspace + "/hack/run.sh", 0o755)
        try fixture.write("hack/data.txt", "committed\n")
        try fixture.symlink("hack/in-tree", to: "run.sh")
        try fixture.symlink("hack/passwd", to: "/etc/passwd")
        try fixture.symlink("hack/up", to: "../..")
        try await repo.commitAll("links and modes", date: "2024-01-03T00:00:00Z")
        // Changed but not committed, and untracked: neither is in the tarball.
        try fixture.write("hack/data.txt", "working tree only\n")
        try fixture.write("hack/untracked.txt", "junk\n")
        let result = try await GoodRelease.kbuild(["release"], in: fixture.workspace)
        try #require(result.succeeded, "\(result.stderr)")

        let tarball = fixture.releaseTars + "/kubernetes-src.tar.gz"
        let listing = try await Tool.check("tar", ["-tvzf", tarball], environment: ["LC_ALL": "C", "TZ": "UTC"])
        let lines = listing.split(separator: "\n").map(String.init)
        func line(_ path: String) -> String? {
            lines.first { $0.hasSuffix(" " + path) || $0.contains(" " + path + " -> ") }
        }
        #expect(
            line("hack/in-tree")?.hasPrefix("lrwxrwxrwx") == true
                && line("hack/in-tree")?.hasSuffix("hack/in-tree -> run.sh") == true, "\(listing)")
        #expect(line("hack/passwd")?.hasSuffix("hack/passwd -> /etc/passwd") == true, "\(listing)")
        #expect(line("hack/up")?.hasSuffix("hack/up -> ../..") == true, "\(listing)")
        #expect(line("hack/run.sh")?.hasPrefix("-rwxr-xr-x") == true, "\(listing)")
        #expect(line("hack/data.txt")?.hasPrefix("-rw-r--r--") == true, "\(listing)")

        // Exactly the tracked paths (and their parent directories) plus .kube-git-version.
        let tracked = try await repo.git("ls-files", "-z").split(separator: "\0").map(String.init)
        let files = try await Tool.check("tar", ["-tzf", tarball]).split(separator: "\n").map(String.init)
            .filter { !$0.hasSuffix("/") }
        #expect(files.sorted() == (tracked + [".kube-git-version"]).sorted())

        // Extracted, the symlinks stay links and the contents are the committed ones.
        let out = fixture.directory.appending("extracted")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try await Tool.check("tar", ["-xzf", tarball, "-C", out])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/hack/passwd") == "/etc/passwd")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/hack/up") == "../..")
        #expect(try String(contentsOfFile: out + "/hack/data.txt", encoding: .utf8) == "committed\n")
        #expect(FileManager.default.isExecutableFile(atPath: out + "/hack/run.sh"))
        #expect(!FileManager.default.fileExists(atPath: out + "/hack/untracked.txt"))
        // And it is a workspace kbuild knows the version of without git: the release's, -dirty included.
        let version = try await GoodRelease.kbuild(["version", "--short"], in: out)
        #expect(
            version.stdout.hasSuffix("-dirty\n") && version.stdout.hasPrefix("v1.0.0-1+"),
            "\(version.stdout)\(version.stderr)")
    }

    /// `--skip-build` accepts the binaries `kbuild build` stamped for this very version.
    @Test func skipBuildPacksBinariesOfThisVersion() async throws {
        let fixture = try await Fixture("skip-build-ok")
        defer { fixture.cleanup() }
        let result = try await GoodRelease.kbuild(["release", "--skip-build"], in: fixture.workspace)
        #expect(result.succeeded, "\(result.stderr)")
    }

    /// A GoReleaser-style tool stamps only `main.version` with the bare version (what `kbuild init` proposes):
    /// `--skip-build` looks for the values the config stamps, and `kbuild verify` for that form of the version.
    @Test func skipBuildAndVerifyFollowTheStampedVariables() async throws {
        let dir = try TemporaryDirectory("kbuild-bare-version")
        defer { dir.remove() }
        let repo = try await GitRepository.create(at: dir.appending("tool"))
        try repo.write("go.mod", "module example.com/tool\n\ngo 1.19\n")
        try repo.write(
            "cmd/tool/main.go",
            "package main\n\nimport \"fmt\"\n\nvar version = \"dev\"\n\nfunc main() { fmt.Println(version) }\n")
        try await repo.commitAll("tool")
        let initialized = try await runKbuild(["init"], in: repo.path)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        #expect(initialized.stdout.contains("bareVersion -> main.version"), "\(initialized.stdout)")
        try await repo.commitAll("kbuild release config")
        try await repo.git("tag", "-a", "v1.2.3", "-m", "v1.2.3")
        let env = ["SOURCE_DATE_EPOCH": "1700000000"]
        let release = try await runKbuild(["release"], in: repo.path, env)
        try #require(release.succeeded, "\(release.stderr)")
        let skipped = try await runKbuild(["release", "--skip-build"], in: repo.path, env)
        #expect(skipped.succeeded, "\(skipped.stderr)")
        let verified = try await runKbuild(["verify"], in: repo.path, env)
        #expect(verified.succeeded, "\(verified.stdout)")
        #expect(verified.stdout.contains("carries 1.2.3"), "\(verified.stdout)")
    }
}
