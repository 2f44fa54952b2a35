import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild release` on workspaces shaped like real repositories rather than examples/.
@Suite(.serialized) struct AdoptionEndToEndTests {
    /// Most repositories have no `cluster/addons`: the release succeeds and its manifests tarball is empty.
    @Test func workspaceWithoutAddonsReleases() async throws {
        let dir = try TemporaryDirectory("kbuild-noaddons")
        defer { dir.remove() }
        let workspace = dir.appending("clone")
        try Repository.copyExamples(to: workspace)
        try FileManager.default.removeItem(atPath: workspace + "/cluster/addons")
        let configPath = workspace + "/release/kbuild.yaml"
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        let withoutAddons = config.replacingOccurrences(
            of: "addons:\n  dirs: [cluster/addons]\n  exclude: [\"**/demo/**\", \"**/*-test.yaml\"]\n", with: "")
        try #require(withoutAddons != config, "the example config changed shape; update this test")
        try withoutAddons.write(toFile: configPath, atomically: true, encoding: .utf8)
        let repo = try await GitRepository.create(at: workspace)
        try await repo.commitAll("No add-ons")

        let result = try await runKbuild(["release"], in: workspace, ["KUBE_BUILD_PLATFORMS": "linux/amd64"])
        try #require(result.succeeded, "\(result.stderr)")
        let tars = workspace + "/_output/release-tars"
        try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: tars)
        let manifests = try await Tool.check("tar", ["-tzf", tars + "/kubernetes-manifests.tar.gz"])
        #expect(manifests == "kubernetes/\nkubernetes/addons/\n", "\(manifests)")
        let server = try await Tool.check("tar", ["-tzf", tars + "/kubernetes-server-linux-amd64.tar.gz"])
        #expect(!server.contains("addons/"), "\(server)")
        #expect(server.contains("kubernetes/server/bin/kube-apiserver\n"))
    }

    /// A containerd-shaped workspace: no pkg/version, no base.go, `version.Version`/`Revision` and `main.version`.
    static func toolWorkspace(in path: String, config: String, tag: String? = "v1.6.2") async throws -> GitRepository {
        let repo = try await GitRepository.create(at: path)
        try repo.write("go.mod", "module example.com/tool\n\ngo 1.19\n")
        try repo.write(
            "version/version.go",
            "package version\n\nvar (\n\tVersion = \"1.0.0+unknown\"\n\tRevision = \"\"\n)\n\nvar Count int\n\nconst Name = \"tool\"\n"
        )
        try repo.write(
            "cmd/tool/main.go",
            """
            package main

            import (
            \t"fmt"

            \tv "example.com/tool/version"
            )

            var version string

            func main() { fmt.Println(v.Version, v.Revision, version) }

            """)
        try repo.write("release/kbuild.yaml", config)
        try await repo.commitAll("Tool")
        if let tag { try await repo.git("tag", "-a", tag, "-m", tag) }
        return repo
    }

    static func toolConfig(_ variables: String) -> String {
        """
        project: tool
        version:
          package: example.com/tool/version
          variables:
        \(variables)
        platforms: {client: [linux/amd64], server: [], node: [], test: []}
        binaries:
          - name: tool
            kinds: [client]

        """
    }

    @Test func versionVariablesAreStampedWhereTheProjectWantsThem() async throws {
        let dir = try TemporaryDirectory("kbuild-vars")
        defer { dir.remove() }
        let workspace = dir.appending("tool")
        let config = Self.toolConfig("    version: Version\n    commit: Revision\n    bareVersion: main.version")
        let repo = try await Self.toolWorkspace(in: workspace, config: config)
        let commit = try await repo.git("rev-parse", "HEAD")

        let flags = try await runKbuild(["version", "--ldflags"], in: workspace)
        try #require(flags.succeeded, "\(flags.stderr)")
        #expect(
            flags.stdout
                == "-X 'example.com/tool/version.Version=v1.6.2' -X 'example.com/tool/version.Revision=\(commit)' -X 'main.version=1.6.2'\n"
        )

        let result = try await runKbuild(["release"], in: workspace)
        try #require(result.succeeded, "\(result.stderr)")
        let printed = try await Tool.check(workspace + "/_output/local/bin/linux/amd64/tool", [])
        #expect(printed == "v1.6.2 \(commit) 1.6.2\n")
    }

    @Test(arguments: [
        (
            "    version: Count",
            "example.com/tool/version.Count (version.variables.version): it is a variable of type int, not string"
        ),
        (
            "    version: Name",
            "example.com/tool/version.Name (version.variables.version): it is a constant, not a variable"
        ),
        (
            "    version: Missing",
            "example.com/tool/version.Missing (version.variables.version): no such package-level variable"
        ),
        ("    version: main.nothing", "main.nothing (version.variables.version): no such package-level variable"),
    ])
    func variablesThatStampNothingAreRefused(variables: String, message: String) async throws {
        let dir = try TemporaryDirectory("kbuild-badvar")
        defer { dir.remove() }
        let workspace = dir.appending("tool")
        _ = try await Self.toolWorkspace(in: workspace, config: Self.toolConfig(variables))
        let result = try await runKbuild(["release"], in: workspace)
        #expect(!result.succeeded)
        #expect(result.stderr.hasPrefix("error: \(message); -X stamps only"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace + "/_output/release-tars"))
    }

    /// A go.work monorepo: the root module plus a module under staging/, binaries from both, named by
    /// import path or by directory; the version package lives in the staging module.
    @Test func goWorkMonorepoBuildsBinariesOfEveryModule() async throws {
        let dir = try TemporaryDirectory("kbuild-gowork")
        defer { dir.remove() }
        let workspace = dir.appending("mono")
        let repo = try await GitRepository.create(at: workspace)
        try repo.write("go.work", "go 1.19\n\nuse (\n\t.\n\t./staging/src/example.com/api // the API module\n)\n")
        try repo.write(
            "go.mod",
            "module example.com/mono\n\ngo 1.19\n\nrequire example.com/api v0.0.0\n\nreplace example.com/api => ./staging/src/example.com/api\n"
        )
        try repo.write("staging/src/example.com/api/go.mod", "module example.com/api\n\ngo 1.19\n")
        try repo.write("staging/src/example.com/api/version/version.go", "package version\n\nvar Version = \"unset\"\n")
        let main = { (name: String) in
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/api/version\"\n)\n\nfunc main() { fmt.Println(\"\(name)\", version.Version) }\n"
        }
        try repo.write("cmd/mono/main.go", main("mono"))
        try repo.write("staging/src/example.com/api/cmd/apitool/main.go", main("apitool"))
        try repo.write("staging/src/example.com/api/cmd/other/main.go", main("other"))
        try repo.write(
            "release/kbuild.yaml",
            """
            project: mono
            version:
              variables:
                version: example.com/api/version.Version
            platforms: {client: [linux/amd64], server: [], node: [], test: []}
            binaries:
              - name: mono
                kinds: [client]
              - name: apitool
                package: example.com/api/cmd/apitool
                kinds: [client]
              - name: other
                package: ./staging/src/example.com/api/cmd/other
                kinds: [client]

            """)
        try await repo.commitAll("Monorepo")
        try await repo.git("tag", "-a", "v2.0.0", "-m", "v2.0.0")

        // kbuild init finds the main packages of every module of go.work (_output ignored locally: tree stays clean).
        try "/_output/\n".write(toFile: workspace + "/.git/info/exclude", atomically: true, encoding: .utf8)
        let proposed = dir.appending("proposed")
        try FileManager.default.createDirectory(atPath: proposed, withIntermediateDirectories: true)
        let initialized = try await runKbuild(["init", "-C", workspace, "--force", "--json"], in: proposed)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        #expect(initialized.stdout.contains("\"apitool\""), "\(initialized.stdout)")
        #expect(
            initialized.stdout.contains("\"other\"") && initialized.stdout.contains("\"mono\""), "\(initialized.stdout)"
        )
        try await repo.git("checkout", "-q", "--", "release/kbuild.yaml")

        let result = try await runKbuild(["release"], in: workspace)
        try #require(result.succeeded, "\(result.stderr)")
        for name in ["mono", "apitool", "other"] {
            let printed = try await Tool.check(workspace + "/_output/local/bin/linux/amd64/" + name, [])
            #expect(printed == "\(name) v2.0.0\n")
        }
        // -mod=vendor or mod is impossible in workspace mode: one line, at its position.
        try repo.write(
            "release/kbuild.yaml",
            "go:\n  mod: mod\n" + (try String(contentsOfFile: workspace + "/release/kbuild.yaml", encoding: .utf8)))
        let refused = try await runKbuild(["plan"], in: workspace)
        #expect(!refused.succeeded)
        #expect(
            refused.stderr.contains("release/kbuild.yaml:2:8: go.mod: mod is not possible with go.work"),
            "\(refused.stderr)")
    }

    /// `kbuild init && kbuild release` on workspaces of three shapes, and init's refusal to overwrite.
    @Test func initWritesAConfigThatReleasesAsItIs() async throws {
        let dir = try TemporaryDirectory("kbuild-init")
        defer { dir.remove() }

        // containerd-shaped: version.Version / Revision.
        let tool = dir.appending("tool")
        let repo = try await Self.toolWorkspace(in: tool, config: "")
        try FileManager.default.removeItem(atPath: tool + "/release")
        try await repo.commitAll("No config")
        try await repo.git("tag", "-f", "-a", "v1.6.2", "-m", "v1.6.2")
        let commit = try await repo.git("rev-parse", "HEAD")
        let initialized = try await runKbuild(["init"], in: tool)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        #expect(
            initialized.stdout.contains(
                "1 binaries, version: version -> example.com/tool/version.Version, commit -> example.com/tool/version.Revision"
            ), "\(initialized.stdout)")
        let text = try String(contentsOfFile: tool + "/release/kbuild.yaml", encoding: .utf8)
        #expect(text.contains("project: \"tool\""))
        // kbuild's outputs must not make the tree dirty: init has git ignore them.
        #expect(initialized.stdout.contains("added /_output/ to .gitignore"))
        #expect(try String(contentsOfFile: tool + "/.gitignore", encoding: .utf8).contains("\n/_output/\n"))
        try await repo.commitAll("Release config")
        try await repo.git("tag", "-f", "-a", "v1.6.2", "-m", "v1.6.2")
        let released = try await runKbuild(["release"], in: tool)
        try #require(released.succeeded, "\(released.stderr)")
        let newCommit = try await repo.git("rev-parse", "HEAD")
        #expect(newCommit != commit)
        let printed = try await Tool.check(
            tool + "/_output/local/bin/\(Platform.host.os)/\(Platform.host.arch)/tool", [])
        #expect(printed == "v1.6.2 \(newCommit) \n")
        #expect(try await repo.git("ls-files", "_output").isEmpty)
        #expect(try await runKbuild(["version", "--short"], in: tool).stdout == "v1.6.2\n")  // still clean

        // An existing config is kept: one line, nothing changed; --force replaces it.
        try "project: mine\n".write(toFile: tool + "/release/kbuild.yaml", atomically: true, encoding: .utf8)
        let refused = try await runKbuild(["init"], in: tool)
        #expect(!refused.succeeded)
        #expect(
            refused.stderr
                == "error: \(tool)/release/kbuild.yaml: a release config exists; kbuild init --force replaces it\n")
        #expect(try String(contentsOfFile: tool + "/release/kbuild.yaml", encoding: .utf8) == "project: mine\n")
        let forced = try await runKbuild(["init", "--force", "--json"], in: tool)
        #expect(forced.succeeded, "\(forced.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(forced.stdout.utf8)) as? [String: Any]
        #expect(summary?["binaries"] as? [String] == ["tool"], "\(forced.stdout)")

        // Kubernetes-shaped: examples/ without its config; pkg/version with gitVersion and base.go.
        let kube = dir.appending("kube")
        try Repository.copyExamples(to: kube)
        try FileManager.default.removeItem(atPath: kube + "/release")
        let kubeRepo = try await GitRepository.create(at: kube)
        try await kubeRepo.commitAll("Kubernetes-like")
        let kubeInit = try await runKbuild(["init"], in: kube)
        try #require(kubeInit.succeeded, "\(kubeInit.stderr)")
        let kubeText = try String(contentsOfFile: kube + "/release/kbuild.yaml", encoding: .utf8)
        #expect(kubeText.contains("package: \"k8s.io/example/pkg/version\""))
        #expect(kubeText.contains("baseFile: \"pkg/version/base.go\""))
        #expect(kubeText.contains("dirs: [cluster/addons]"))
        for name in ["kubectl", "kube-apiserver", "kube-controller-manager", "kube-proxy", "kubelet"] {
            #expect(kubeText.contains("- name: \"\(name)\""), "\(name) missing")
        }
        try await kubeRepo.commitAll("Release config")
        try await kubeRepo.git("tag", "-a", "v0.9.0", "-m", "v0.9.0")
        let kubeRelease = try await runKbuild(["release"], in: kube)
        try #require(kubeRelease.succeeded, "\(kubeRelease.stderr)")
        let apiserver = kube + "/_output/local/bin/\(Platform.host.os)/\(Platform.host.arch)/kube-apiserver"
        #expect(try await Tool.check(apiserver, ["--version"]).contains("v0.9.0"))

        // GoReleaser-shaped: main.version without the v.
        let plain = dir.appending("plain")
        let plainRepo = try await GitRepository.create(at: plain)
        try plainRepo.write("go.mod", "module example.com/plain\n\ngo 1.19\n")
        try plainRepo.write(
            "main.go",
            "package main\n\nimport \"fmt\"\n\nvar (\n\tversion = \"dev\"\n\tcommit  = \"none\"\n)\n\nfunc main() { fmt.Println(version, commit) }\n"
        )
        try await plainRepo.commitAll("Plain")
        try await plainRepo.git("tag", "-a", "v3.1.0", "-m", "v3.1.0")
        let plainInit = try await runKbuild(["init"], in: plain)
        try #require(plainInit.succeeded, "\(plainInit.stderr)")
        #expect(plainInit.stdout.contains("bareVersion -> main.version, commit -> main.commit"), "\(plainInit.stdout)")
        try await plainRepo.commitAll("Release config")
        try await plainRepo.git("tag", "-f", "-a", "v3.1.0", "-m", "v3.1.0")
        let plainRelease = try await runKbuild(["release"], in: plain)
        try #require(plainRelease.succeeded, "\(plainRelease.stderr)")
        let plainCommit = try await plainRepo.git("rev-parse", "HEAD")
        let plainPrinted = try await Tool.check(
            plain + "/_output/local/bin/\(Platform.host.os)/\(Platform.host.arch)/plain", [])
        #expect(plainPrinted == "3.1.0 \(plainCommit)\n")
    }
}
