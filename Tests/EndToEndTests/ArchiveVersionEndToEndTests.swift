import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild init --archive-version`, a tag, a real `git archive`: the unpacked tree (no .git) builds
/// binaries stamped with the tag, the archived commit and tree state `archive`.
@Suite struct ArchiveVersionEndToEndTests {
    @Test func anUnpackedGitArchiveOfATagBuildsThatTag() async throws {
        let dir = try TemporaryDirectory("kbuild-archive-e2e")
        defer { dir.remove() }
        let repo = try await GitRepository.create(at: dir.appending("plain"))
        try repo.write("go.mod", "module example.com/plain\n\ngo 1.19\n")
        try repo.write(
            "main.go",
            "package main\n\nimport \"fmt\"\n\nvar (\n\tversion = \"dev\"\n\tcommit  = \"none\"\n)\n\nfunc main() { fmt.Println(version, commit) }\n"
        )
        try await repo.commitAll("Plain")
        let initialized = try await runKbuild(["init", "--archive-version"], in: repo.path)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        #expect(initialized.stdout.contains("wrote .kbuild-archive-version"), "\(initialized.stdout)")
        let attributes = try String(contentsOfFile: repo.path + "/.gitattributes", encoding: .utf8)
        #expect(attributes.contains("\n/.kbuild-archive-version export-subst\n"), "\(attributes)")
        try await repo.commitAll("Release config")
        try await repo.git("tag", "-a", "v3.1.0", "-m", "v3.1.0")
        let commit = try await repo.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)

        let tarball = dir.appending("plain-v3.1.0.tar")
        try await repo.git("archive", "--format=tar", "--prefix=plain-v3.1.0/", "-o", tarball, "v3.1.0")
        try await Tool.check("tar", ["-xf", tarball, "-C", dir.path])
        let unpacked = dir.appending("plain-v3.1.0")
        #expect(!FileManager.default.fileExists(atPath: unpacked + "/.git"))

        let version = try await runKbuild(["version", "--json"], in: unpacked, ["SOURCE_DATE_EPOCH": "1700000000"])
        try #require(version.succeeded, "\(version.stderr)")
        let info = try #require(
            try JSONSerialization.jsonObject(with: Data(version.stdout.utf8)) as? [String: Any])
        #expect(info["version"] as? String == "v3.1.0")
        #expect(info["commit"] as? String == commit)
        #expect(info["treeState"] as? String == "archive")
        #expect(info["source"] as? String == "git archive")

        let built = try await runKbuild(["build"], in: unpacked, ["SOURCE_DATE_EPOCH": "1700000000"])
        try #require(built.succeeded, "\(built.stderr)")
        let printed = try await Tool.check(
            unpacked + "/_output/local/bin/\(Platform.host.os)/\(Platform.host.arch)/plain", [])
        #expect(printed == "3.1.0 \(commit)\n")
    }
}
