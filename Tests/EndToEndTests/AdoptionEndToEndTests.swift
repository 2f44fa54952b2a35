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
            "package version\n\nvar (\n\tVersion = \"1.0.0+unknown\"\n\tRevision = \"\"\n)\n\nvar Count int\n\nconst Name = \"tool\"\n")
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
        #expect(flags.stdout == "-X 'example.com/tool/version.Version=v1.6.2' -X 'example.com/tool/version.Revision=\(commit)' -X 'main.version=1.6.2'\n")

        let result = try await runKbuild(["release"], in: workspace)
        try #require(result.succeeded, "\(result.stderr)")
        let printed = try await Tool.check(workspace + "/_output/local/bin/linux/amd64/tool", [])
        #expect(printed == "v1.6.2 \(commit) 1.6.2\n")
    }

    @Test(arguments: [
        ("    version: Count", "example.com/tool/version.Count (version.variables.version): it is a variable of type int, not string"),
        ("    version: Name", "example.com/tool/version.Name (version.variables.version): it is a constant, not a variable"),
        ("    version: Missing", "example.com/tool/version.Missing (version.variables.version): no such package-level variable"),
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
}
