import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild release --sign-key` on a temp clone of examples/: the SBOM, the provenance and the signatures,
/// each checked by the outside tool made for it.
@Suite(.serialized) struct SupplyChainEndToEndTests {
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000", "KBUILD_SIGN_KEY": nil,
    ]

    @Test func signedReleaseDocumentsPassTheOutsideValidators() async throws {
        let dir = try TemporaryDirectory("kbuild-proof-e2e")
        defer { dir.remove() }
        let workspace = dir.appending("clone")
        let repo = try await Repository.exampleWorkspace(in: workspace, tag: "v1.2.3")
        try await repo.git("remote", "add", "origin", "https://builder:s3cret@example.com/k8s/example.git")
        let key = try await Keys.make(in: dir)

        let result = try await runKbuild(["release", "--sign-key", key.privatePEM], in: workspace, Self.environment)
        try #require(result.succeeded, "\(result.stderr)\n\(result.stdout)")
        let tars = workspace + "/_output/release-tars"
        try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: tars)
        try await Tool.check("sha512sum", ["-c", "--quiet", "SHA512SUMS"], in: tars)

        // The agreed file set: the sums list every file but themselves, the per-file sums, artifacts.json,
        // the provenance and the signature.
        let sums = try String(contentsOfFile: tars + "/SHA256SUMS", encoding: .utf8)
        let summed = Set(sums.split(separator: "\n").map { String($0.dropFirst(66)) })
        let outside: Set<String> = [
            "SHA256SUMS", "SHA512SUMS", "artifacts.json", "kubernetes.intoto.jsonl", "SHA256SUMS.sig",
        ]
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
            .filter { !$0.hasSuffix(".sha256") && !$0.hasSuffix(".sha512") }
        #expect(summed == files.subtracting(outside), "\(summed.symmetricDifference(files.subtracting(outside)))")
        #expect(summed.contains("kubernetes.spdx.json"))

        // SBOM: valid SPDX 2.3, NTIA minimum elements, and the digests of what was shipped.
        let sbomPath = tars + "/kubernetes.spdx.json"
        try await SupplyChainValidators.checkSBOM(sbomPath)
        let sbom = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sbomPath))) as? [String: Any])
        let packages = try #require(sbom["packages"] as? [[String: Any]])
        func sha256(of name: String) -> String? {
            let package = packages.first { $0["name"] as? String == name }
            return ((package?["checksums"] as? [[String: String]])?.first)?["checksumValue"]
        }
        let kubelet = try await Tool.check("sha256sum", [workspace + "/_output/local/bin/linux/amd64/kubelet"])
        #expect(sha256(of: "kubelet") == String(kubelet.prefix(64)))
        let server = try await Tool.check("sha256sum", [tars + "/kubernetes-server-linux-amd64.tar.gz"])
        #expect(sha256(of: "kubernetes-server-linux-amd64.tar.gz") == String(server.prefix(64)))
        #expect(packages.contains { $0["name"] as? String == "stdlib" })
        #expect(
            packages.contains { $0["name"] as? String == "k8s.io/example" && $0["versionInfo"] as? String == "v1.2.3" })

        // Provenance: a DSSE envelope securesystemslib verifies, over a statement in-toto-attestation accepts.
        let envelope = tars + "/kubernetes.intoto.jsonl"
        let verified = try await SupplyChainValidators.verifyDSSE(
            envelope: envelope, publicKeyPEM: key.publicPEM, keyID: key.keyID)
        let lines = verified.split(separator: "\n")
        #expect(lines.count == 2 && lines.first == "application/vnd.in-toto+json", "\(verified)")
        let text = String(lines.last ?? "")
        let statement = dir.appending("statement.json")
        try text.write(toFile: statement, atomically: true, encoding: .utf8)
        let subjects = try await SupplyChainValidators.checkProvenance(statementJSON: statement)
        // Every file of SHA256SUMS, and each image's index and manifests (what kbuild publish pushes).
        let imageSubjects = text.components(separatedBy: "\"name\":\"image:").count - 1
        #expect(imageSubjects > 0)
        #expect(subjects == "\(summed.count + imageSubjects)\n")
        for line in sums.split(separator: "\n") {
            #expect(
                text.contains("{\"digest\":{\"sha256\":\"\(line.prefix(64))\"},\"name\":\"\(line.dropFirst(66))\"}"))
        }
        #expect(text.contains("\"uri\":\"git+https://example.com/k8s/example.git@refs/tags/v1.2.3\""), "\(text)")
        #expect(text.contains("\"KUBE_BUILD_PLATFORMS\":\"linux/amd64\""))
        let commit = try await repo.git("rev-parse", "HEAD")
        #expect(text.contains("\"gitCommit\":\"\(commit)\""))
        for document in [sbomPath, envelope, statement] {
            let bytes = try String(contentsOfFile: document, encoding: .utf8)
            #expect(!bytes.contains("s3cret") && !bytes.contains(dir.path), "\(document) leaks a credential or a path")
        }

        // SHA256SUMS.sig: the raw Ed25519 signature openssl verifies.
        try await SupplyChainValidators.verifyRaw(
            signature: tars + "/SHA256SUMS.sig", of: tars + "/SHA256SUMS", publicKeyPEM: key.publicPEM)

        // Unsigned: the provenance is the bare statement line and no signature stays behind.
        let unsigned = try await runKbuild(["release"], in: workspace, Self.environment)
        try #require(unsigned.succeeded, "\(unsigned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tars + "/SHA256SUMS.sig"))
        #expect(try String(contentsOfFile: envelope, encoding: .utf8) == text + "\n")
        _ = try await SupplyChainValidators.checkProvenance(statementJSON: envelope)
    }

    @Test func aBadKeyIsOneLineBeforeAnyWork() async throws {
        let dir = try TemporaryDirectory("kbuild-proof-keys")
        defer { dir.remove() }
        let workspace = dir.appending("clone")
        _ = try await Repository.exampleWorkspace(in: workspace, tag: "v1.2.3")
        try await Tool.check(
            "openssl",
            ["genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", dir.appending("ec.pem")])
        try await Tool.check(
            "openssl",
            [
                "genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass", "pass:x", "-out",
                dir.appending("locked.pem"),
            ])
        let cases: [([String], [String: String?], String)] = [
            (
                ["--sign-key", dir.appending("missing.pem")], [:],
                "\(dir.appending("missing.pem")): cannot read the key"
            ),
            (
                ["--sign-key", dir.appending("ec.pem")], [:],
                "\(dir.appending("ec.pem")): a EC private key, not Ed25519"
            ),
            (
                [], ["KBUILD_SIGN_KEY": dir.appending("locked.pem")],
                "\(dir.appending("locked.pem")): the private key is protected by a passphrase"
            ),
        ]
        for (arguments, environment, message) in cases {
            let result = try await runKbuild(
                ["release"] + arguments, in: workspace, Self.environment.merging(environment) { $1 })
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("error: \(message)"), "\(result.stderr)")
            #expect(
                result.stderr.hasSuffix(
                    "; allowed: an unencrypted Ed25519 private key in PEM (openssl genpkey -algorithm ed25519)\n"))
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(
                !FileManager.default.fileExists(atPath: workspace + "/_output"),
                "work started before the key was checked")
        }
    }
}

/// An Ed25519 key pair made by openssl, with its key id as `openssl pkey -pubout -outform DER | sha256sum` prints it.
struct Keys {
    let privatePEM: String
    let publicPEM: String
    let keyID: String

    static func make(in dir: TemporaryDirectory, name: String = "release") async throws -> Keys {
        let privatePEM = dir.appending("\(name).pem")
        let publicPEM = dir.appending("\(name).pub")
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", privatePEM])
        try await Tool.check("openssl", ["pkey", "-in", privatePEM, "-pubout", "-out", publicPEM])
        let der = try await Tool.check(
            "/bin/sh", ["-c", "openssl pkey -in \"$0\" -pubout -outform DER | sha256sum", privatePEM])
        return Keys(privatePEM: privatePEM, publicPEM: publicPEM, keyID: String(der.prefix(64)))
    }
}
