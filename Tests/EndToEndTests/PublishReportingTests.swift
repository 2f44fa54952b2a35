import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

/// `kbuild release --publish`, and what publish says while it works: JSON events checked against
/// docs/log-format.schema.json, bytes pushed and uploaded on the display, and GitHub Actions' step summary.
/// Against Debian's docker-registry and nginx WebDAV, read back with skopeo and sha256sum.
@Suite(.serialized) struct PublishReportingTests {
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64 linux/arm64", "SOURCE_DATE_EPOCH": "1700000000",
        "REGISTRY_AUTH_FILE": "/nonexistent/auth.json", "DOCKER_CONFIG": "/nonexistent",
        "XDG_CONFIG_HOME": "/nonexistent",
    ]

    @Test func releaseDashPublishPushesTheReleaseAndAFailedPublishLeavesItIntact() async throws {
        let dir = try TemporaryDirectory("kbuild-release-publish")
        defer { dir.remove() }
        let workspace = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.5.0").path
        let registry = try await RegistryServer.start()
        defer { registry.stop() }

        let nowhere = try await runKbuild(["release", "--publish"], in: workspace, Self.environment)
        #expect(nowhere.status == 64 && nowhere.stderr.contains("nothing to publish to"), "\(nowhere.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace + "/_output/release-tars"), "no work before")

        let target = registry.host + "/k8s"
        let released = try await runKbuild(
            ["release", "--publish", "--registry", target, "--tls-verify=false"], in: workspace, Self.environment)
        try #require(released.succeeded, "\(released.stderr)\n\(released.stdout)")
        let lines = released.stdout.split(separator: "\n")
        let made = try #require(lines.firstIndex { $0.hasPrefix("release v1.5.0: ") }, "\(released.stdout)")
        let verified = try #require(lines.firstIndex { $0.hasPrefix("verified: ") }, "\(released.stdout)")
        #expect(made < verified, "released, then verified, then pushed")
        #expect(lines.last?.hasPrefix("published 3 images to \(target): ") == true, "\(released.stdout)")
        let raw = try await Tool.check(
            "skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(target)/kube-proxy:v1.5.0"])
        #expect(raw.contains("application/vnd.oci.image.index.v1+json"), "\(raw)")

        // The registry gone: the release is made and kept, the error says the publish half failed.
        let sums = try Data(contentsOf: URL(fileURLWithPath: workspace + "/_output/release-tars/SHA256SUMS"))
        registry.kill()  // a zombie until the deferred stop reaps it
        let failed = try await runKbuild(
            ["release", "--publish", "--registry", target, "--tls-verify=false"], in: workspace, Self.environment)
        #expect(failed.status == 1)
        #expect(failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        #expect(failed.stderr.hasPrefix("error: publish: "), "\(failed.stderr)")
        #expect(failed.stderr.contains("release v1.5.0 itself is complete and intact in "), "\(failed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: workspace + "/_output/release-tars/SHA256SUMS")) == sums)
        let check = try await runKbuild(["verify"], in: workspace, Self.environment)
        #expect(check.succeeded, "\(check.stdout)\(check.stderr)")

        let shard = try await runKbuild(["release", "--publish", "--shard", "1/2"], in: workspace, Self.environment)
        #expect(shard.status == 64 && shard.stderr.contains("--publish given with --shard"), "\(shard.stderr)")
        let stray = try await runKbuild(
            ["release", "--upload", "http://127.0.0.1:1/x"], in: workspace, Self.environment)
        #expect(stray.status == 64 && stray.stderr.contains("add --publish"), "\(stray.stderr)")
    }
}
