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
}
