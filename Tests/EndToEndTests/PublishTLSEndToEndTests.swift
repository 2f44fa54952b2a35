import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild publish` and `kbuild verify --registry` over TLS: Debian's docker-registry and nginx with a fresh
/// self-signed certificate, trusted only through `--ca-file` (or not checked with `--tls-verify=false`),
/// read back by skopeo with the certificate in its `--cert-dir`.
@Suite(.serialized) struct PublishTLSEndToEndTests {
    func publish(_ workspace: String, _ arguments: [String], _ extra: [String: String?] = [:]) async throws
        -> CommandResult
    {
        var env = PublishEndToEndTests.environment
        env.merge(extra) { $1 }
        return try await runKbuild(["publish"] + arguments, in: workspace, env)
    }

    @Test func aSelfSignedRegistryIsTrustedThroughTheCAFileAndSkopeoReadsItBack() async throws {
        let workspace = try await PublishEndToEndTests.release.value
        let registry = try await RegistryServer.start(tls: true)
        defer { registry.stop() }
        let certificate = registry.directory + "/cert.pem"

        let untrusted = try await publish(workspace, ["--registry", registry.host])
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.split(separator: "\n").count == 1, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains(registry.host), "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("certificate not trusted"), "\(untrusted.stderr)")
        #expect(try registry.requests().isEmpty, "no request got past the handshake")

        let trusted = try await publish(workspace, ["--registry", registry.host, "--ca-file", certificate])
        try #require(trusted.succeeded, "\(trusted.stderr)")
        #expect(trusted.stdout.contains("published 3 images"), "\(trusted.stdout)")

        // skopeo trusts the CA files (*.crt) of a --cert-dir.
        let certs = try TemporaryDirectory("kbuild-publish-certs")
        defer { certs.remove() }
        try FileManager.default.copyItem(atPath: certificate, toPath: certs.appending("ca.crt"))
        let raw = try await Tool.check(
            "skopeo",
            ["inspect", "--raw", "--cert-dir", certs.path, "docker://\(registry.host)/kube-proxy:v1.4.0_build.7"])
        let index = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any]
        #expect(index?["mediaType"] as? String == "application/vnd.oci.image.index.v1+json", "\(raw)")
        #expect((index?["manifests"] as? [Any])?.count == 2, "\(raw)")

        let verified = try await runKbuild(
            ["verify", "--registry", registry.host, "--ca-file", certificate], in: workspace,
            PublishEndToEndTests.environment)
        #expect(verified.succeeded, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("ok   registry"), "\(verified.stdout)")

        // skopeo's --tls-verify=false: https without checking the certificate, not plain http.
        let unchecked = try await publish(
            workspace, ["--registry", registry.host, "--tls-verify=false", "--tag", "unchecked"])
        try #require(unchecked.succeeded, "\(unchecked.stderr)")
        #expect(unchecked.stdout.contains("0 blobs pushed"), "\(unchecked.stdout)")
        try await Tool.check(
            "skopeo", ["inspect", "--raw", "--cert-dir", certs.path, "docker://\(registry.host)/kube-proxy:unchecked"])
    }

    /// The config's `publish.caFile`, relative to the config, stands in for `--ca-file`.
    @Test func theConfigsCAFileIsUsed() async throws {
        let shared = try await PublishEndToEndTests.release.value
        let registry = try await RegistryServer.start(tls: true)
        defer { registry.stop() }
        let copy = try TemporaryDirectory("kbuild-publish-cafile")
        defer { copy.remove() }
        let workspace = copy.appending("ws")
        try FileManager.default.copyItem(atPath: shared, toPath: workspace)
        try FileManager.default.copyItem(
            atPath: registry.directory + "/cert.pem", toPath: workspace + "/release/registry-ca.pem")
        let config = workspace + "/release/kbuild.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try writeFile(config, text + "\npublish:\n  registry: \(registry.host)/team\n  caFile: registry-ca.pem\n")

        let result = try await publish(workspace, [])
        try #require(result.succeeded, "\(result.stderr)")
        #expect(result.stdout.contains("published 3 images to \(registry.host)/team"), "\(result.stdout)")
    }

    @Test func aBadCAFileIsAUsageErrorBeforeAnyRequest() async throws {
        let workspace = try await PublishEndToEndTests.release.value
        let registry = try await RegistryServer.start(tls: true)
        defer { registry.stop() }
        let files = try TemporaryDirectory("kbuild-publish-ca")
        defer { files.remove() }
        try writeFile(files.appending("notes.txt"), "not a certificate\n")
        let fifo = files.appending("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let cases = [
            (files.appending("missing.pem"), "cannot be read"), (files.appending("notes.txt"), "holds no PEM"),
            (fifo, "is not a regular file"),
        ]
        for (file, problem) in cases {
            for command in [["publish"], ["verify"]] {
                let result = try await runKbuild(
                    command + ["--registry", registry.host, "--ca-file", file], in: workspace,
                    PublishEndToEndTests.environment)
                #expect(result.status == 64, "\(command) \(file): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(result.stderr.contains("--ca-file") && result.stderr.contains(problem), "\(result.stderr)")
            }
        }
        #expect(try registry.requests().isEmpty)
    }

    @Test func releaseFilesGoToAnHTTPSServerTrustedThroughTheCAFile() async throws {
        let workspace = try await PublishEndToEndTests.release.value
        let server = try await NginxServer.start(tls: true)
        defer { server.stop() }
        let prefix = server.url + "/releases/v1.4.0"
        let tars = workspace + "/_output/release-tars"

        let untrusted = try await publish(workspace, ["--upload", prefix])
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.split(separator: "\n").count == 1, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("certificate not trusted"), "\(untrusted.stderr)")

        let first = try await publish(workspace, ["--upload", prefix, "--ca-file", server.prefix + "/cert.pem"])
        try #require(first.succeeded, "\(first.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: tars).sorted()
        let uploaded = server.root + "/releases/v1.4.0"
        for name in names {
            #expect(
                FileManager.default.contentsEqual(atPath: tars + "/" + name, andPath: uploaded + "/" + name), "\(name)")
        }
        try await Tool.check("sha256sum", ["-c", "SHA256SUMS"], in: uploaded)
        let second = try await publish(workspace, ["--upload", prefix, "--ca-file", server.prefix + "/cert.pem"])
        #expect(second.stdout.contains("uploaded 0 files"), "\(second.stdout)\(second.stderr)")
    }
}
