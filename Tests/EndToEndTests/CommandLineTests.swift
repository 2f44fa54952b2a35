import Foundation
import KbuildCore
import TestSupport
import Testing

/// The CLI as a developer types it, on a temp clone of examples/.
@Suite(.serialized) struct CommandLineTests {
    @Test func versionOutputsAgreeWithGitAndEachOther() async throws {
        let dir = try TemporaryDirectory("kbuild-cli-version")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v0.5")
        try repo.write("NOTES", "one more\n")
        try await repo.commitAll("after the tag")
        let env = ["SOURCE_DATE_EPOCH": "1700000000"]
        let head = try await repo.git("rev-parse", "HEAD")
        let expected = "v0.5-1+" + head.prefix(14)

        let short = try await runKbuild(["version", "--short"], in: repo.path, env)
        #expect(short.stdout == expected + "\n", "\(short.stderr)")

        let json = try await runKbuild(["version", "--json", "-C", repo.path], in: "/", env)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: String])
        #expect(
            object == [
                "version": expected, "major": "0", "minor": "5+", "commit": head, "treeState": "clean",
                "buildDate": "2023-11-14T22:13:20Z", "source": "git",
            ])

        let describe = try await runKbuild(["version", "--short", "--style", "describe"], in: repo.path, env)
        #expect(describe.stdout == "v0.5-1-g\(head.prefix(14))\n")

        let ldflags = try await runKbuild(["version", "--ldflags", "k8s.io/example/pkg/version"], in: repo.path, env)
        #expect(ldflags.stdout.contains("-X 'k8s.io/example/pkg/version.gitVersion=\(expected)'"), "\(ldflags.stdout)")

        // --save, then KUBE_GIT_VERSION_FILE wins over a tree that has moved on (and over git entirely).
        let saved = dir.appending("version.env")
        _ = try await runKbuild(["version", "--save", saved], in: repo.path, env)
        try repo.write("untracked", "x\n")
        let dirty = try await runKbuild(["version", "--short"], in: repo.path, env)
        #expect(dirty.stdout == expected + "-dirty\n")
        let fromFile = try await runKbuild(
            ["version", "--json"], in: repo.path, env.merging(["KUBE_GIT_VERSION_FILE": saved]) { $1 })
        #expect(fromFile.stdout.contains("\"source\" : \"file\"") && fromFile.stdout.contains(expected + "\""))
    }

    @Test func aTagThatIsNotAVersionIsOneClearErrorLine() async throws {
        let dir = try TemporaryDirectory("kbuild-cli-badtag")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "vfoo")
        let result = try await runKbuild(["version"], in: repo.path)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("vfoo"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func configErrorsNameFileLineAndColumnAndNothingIsWritten() async throws {
        let dir = try TemporaryDirectory("kbuild-cli-config")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.0.0")
        let config = repo.path + "/release/kbuild.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(
            of: "server: [linux/amd64, linux/arm64, linux/arm]", with: "server: [linux/amd64, linux/mips128]"
        )
        .write(toFile: config, atomically: true, encoding: .utf8)
        let line =
            text.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("server: [linux/amd64") }! + 1
        for command in [["release"], ["build"], ["plan"], ["images"]] {
            let result = try await runKbuild(command, in: repo.path)
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains("release/kbuild.yaml:\(line):"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("linux/mips128"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: repo.path + "/_output/release-tars"))
    }

    @Test func buildStampsTheVersionThatVersionPrints() async throws {
        let dir = try TemporaryDirectory("kbuild-cli-build")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.7.0-rc.1")
        let env = ["KUBE_FASTBUILD": "true"]
        let plan = try await runKbuild(["build", "--dry-run"], in: repo.path, env)
        #expect(plan.stdout.contains("linux/amd64") && !plan.stdout.contains("darwin/arm64"), "\(plan.stdout)")
        #expect(!FileManager.default.fileExists(atPath: repo.path + "/_output/local/bin"))

        let build = try await runKbuild(["build", "--sandbox", "required"], in: repo.path, env)
        try #require(build.succeeded, "\(build.stderr)")
        #expect(build.stdout.contains("sandbox: network namespace"), "\(build.stdout)")
        let version = try await runKbuild(["version", "--short"], in: repo.path)
        #expect(version.stdout == "v1.7.0-rc.1\n")
        let host = Platform.host
        for name in ["kube-apiserver", "kubectl", "kubelet"] {
            let printed = try await Tool.check(
                repo.path + "/_output/local/bin/\(host.os)/\(host.arch)/\(name)", ["--version"])
            #expect(printed == version.stdout, "\(name)")
        }
    }
}
