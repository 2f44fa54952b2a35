import Foundation
import KbuildCore
import KbuildDigest
import KbuildProof
import TestSupport
import Testing

/// The SBOM, the provenance and their signatures, checked by the outside validators.
@Suite(.serialized) struct DocumentTests {
    @Test func sbomValidatesAndIsTheSameWhateverTheInputOrder() async throws {
        let fixture = try await GoFixture.build()
        defer { fixture.remove() }
        var input = try fixture.sbomInput()
        let bytes = SBOM.document(input)
        let path = fixture.dir.appending("app.spdx.json")
        try bytes.write(to: URL(fileURLWithPath: path))
        try await SupplyChainValidators.checkSBOM(path)

        input.artifacts.reverse()
        input.binaries.reverse()
        #expect(SBOM.document(input) == bytes)

        let json = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        #expect((json["creationInfo"] as? [String: Any])?["created"] as? String == "2023-11-14T22:13:20Z")
        let namespace = try #require(json["documentNamespace"] as? String)
        #expect(namespace.hasPrefix("https://kbuild.invalid/spdx/app-v1.2.3%2Babc-"))
        let packages = try #require(json["packages"] as? [[String: Any]])
        let ids = packages.compactMap { $0["SPDXID"] as? String }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.wholeMatch(of: /SPDXRef-[A-Za-z0-9.\-]+/) != nil }, "\(ids)")
        let purls = packages.compactMap {
            (($0["externalRefs"] as? [[String: Any]])?.first)?["referenceLocator"] as? String
        }
        #expect(purls.contains("pkg:golang/example.com/app@v1.2.3%2Babc?goarch=arm64&goos=darwin#cmd/app"), "\(purls)")
        #expect(purls.contains("pkg:docker/app-amd64@0123abcd?arch=amd64&repository_url=registry.example"), "\(purls)")
        #expect(purls.contains { $0.hasPrefix("pkg:golang/stdlib@go1.") })
        let relationships = try #require(json["relationships"] as? [[String: String]])
        let triples = Set(
            relationships.map {
                "\($0["spdxElementId"] ?? "") \($0["relationshipType"] ?? "") \($0["relatedSpdxElement"] ?? "")"
            })
        #expect(
            triples.contains(
                "SPDXRef-Artifact-release-tars-app-client-linux-amd64.tar.gz CONTAINS SPDXRef-GoBinary-linux-amd64-app")
        )
        #expect(
            triples.contains("SPDXRef-Artifact-release-images-amd64-app.tar CONTAINS SPDXRef-GoBinary-linux-amd64-app"))
        #expect(
            triples.contains(
                "SPDXRef-GoBinary-windows-amd64-app DEPENDS_ON SPDXRef-GoModule-example.com-app-v1.2.3-abc"))
        #expect(
            triples.contains(
                "SPDXRef-GoBinary-windows-amd64-app DEPENDS_ON SPDXRef-GoModule-example.com-dep-v1.2.3-abc"))
        let dep = try #require(packages.first { $0["name"] as? String == "example.com/dep" })
        #expect(dep["supplier"] as? String == "Organization: app" && dep["licenseDeclared"] as? String == "Apache-2.0")
        #expect(triples.contains("SPDXRef-DOCUMENT DESCRIBES SPDXRef-Artifact-release-tars-app-src.tar.gz"))
    }

    @Test func aBrokenSBOMFailsTheValidators() async throws {
        let dir = try TemporaryDirectory("kbuild-proof-bad")
        defer { dir.remove() }
        let input = SBOMInput(
            project: "app", version: "v1", sourceDate: try SourceDate(seconds: 0), toolVersion: "0.1.0",
            artifacts: [
                SBOMArtifact(
                    name: "a.tar.gz", path: "release-tars/a.tar.gz", kind: .full,
                    sha256: String(repeating: "c", count: 64))
            ],
            binaries: [])
        let good = String(decoding: SBOM.document(input), as: UTF8.self)
        let path = dir.appending("bad.spdx.json")
        try good.replacingOccurrences(of: "\"supplier\": \"Organization: app\"", with: "\"supplier\": \"NOASSERTION\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        await #expect(throws: (any Error).self) { try await SupplyChainValidators.checkSBOM(path) }
        try good.replacingOccurrences(of: "SPDXRef-Artifact", with: "SPDXRef_Artifact")
            .write(toFile: path, atomically: true, encoding: .utf8)
        await #expect(throws: (any Error).self) { try await SupplyChainValidators.checkSBOM(path) }
    }

    @Test func provenanceValidatesAndSignaturesVerifyWithOutsideTools() async throws {
        let dir = try TemporaryDirectory("kbuild-proof-sign")
        defer { dir.remove() }
        let keyPath = dir.appending("key.pem")
        let publicPath = dir.appending("key.pub")
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyPath])
        try await Tool.check("openssl", ["pkey", "-in", keyPath, "-pubout", "-out", publicPath])
        let key = try Ed25519PrivateKey(pemFile: keyPath)

        let sums =
            "\(String(repeating: "1", count: 64))  app.tar.gz\n\(String(repeating: "2", count: 64))  app.spdx.json\n"
        let input = ProvenanceInput(
            project: "app", version: "v1.2.3", sourceDate: try SourceDate(seconds: 1_700_000_000),
            subjects: try ChecksumLine.parse(sums), configPath: "release/kbuild.yaml",
            configSHA256: String(repeating: "3", count: 64), platforms: ["client": ["linux/amd64"]],
            environment: ["KUBE_BUILD_PLATFORMS": "linux/amd64"],
            source: SourceReference(
                remote: "https://example.com/app.git", ref: "refs/tags/v1.2.3",
                commit: String(repeating: "4", count: 40), treeState: "clean"),
            goVersion: "1.19.8",
            baseImages: [ProvenanceMaterial(name: "base.tar", sha256: String(repeating: "5", count: 64))],
            toolVersion: "0.1.0")

        let plain = try Provenance.file(input, signedWith: nil)
        #expect(plain.last == UInt8(ascii: "\n") && plain.dropLast().firstIndex(of: UInt8(ascii: "\n")) == nil)
        #expect(try Provenance.file(input, signedWith: nil) == plain)
        let statementPath = dir.appending("app.intoto.jsonl")
        try plain.write(to: URL(fileURLWithPath: statementPath))
        #expect(try await SupplyChainValidators.checkProvenance(statementJSON: statementPath) == "2\n")
        let text = String(decoding: plain, as: UTF8.self)
        #expect(text.contains("\"uri\":\"git+https://example.com/app.git@refs/tags/v1.2.3\""))
        #expect(text.contains("\"buildType\":\"https://kbuild.dev/release/v1\""))
        #expect(text.contains("\"invocationId\":\"urn:kbuild:invocation:"))

        // A statement with another subject digest gets another invocation id.
        var changed = input
        changed.subjects[0].digest = String(repeating: "9", count: 64)
        let invocation = { (data: Data) in
            String(decoding: data, as: UTF8.self).firstMatch(of: /invocation:[0-9a-f]{64}/).map { String($0.output) }
        }
        #expect(invocation(try Provenance.file(changed, signedWith: nil)) != invocation(plain))

        // Signed: a DSSE envelope securesystemslib verifies, byte-identical on a second run (Ed25519 is deterministic).
        let signed = try Provenance.file(input, signedWith: key)
        #expect(try Provenance.file(input, signedWith: key) == signed)
        let envelopePath = dir.appending("signed.intoto.jsonl")
        try signed.write(to: URL(fileURLWithPath: envelopePath))
        let verified = try await SupplyChainValidators.verifyDSSE(
            envelope: envelopePath, publicKeyPEM: publicPath, keyID: key.publicKey.keyID)
        #expect(
            verified == "application/vnd.in-toto+json\n" + String(decoding: Provenance.statement(input), as: UTF8.self)
                + "\n")
        #expect(DSSE.verifiedPayload(signed.dropLast(), key: key.publicKey)?.payload == Provenance.statement(input))

        // A tampered payload fails securesystemslib.
        let object = try #require(try JSONSerialization.jsonObject(with: signed) as? [String: Any])
        var tampered = object
        tampered["payload"] = Data(text.replacingOccurrences(of: "v1.2.3", with: "v1.2.4").utf8).base64EncodedString()
        try JSONSerialization.data(withJSONObject: tampered).write(to: URL(fileURLWithPath: envelopePath))
        await #expect(throws: (any Error).self) {
            try await SupplyChainValidators.verifyDSSE(
                envelope: envelopePath, publicKeyPEM: publicPath, keyID: key.publicKey.keyID)
        }
        #expect(
            DSSE.verifiedPayload(try Data(contentsOf: URL(fileURLWithPath: envelopePath)), key: key.publicKey) == nil)
    }

    @Test func checksumLinesRoundTripSorted() throws {
        let lines = try ChecksumLine.parse("bb  b.tar.gz\naa *a.tar.gz\n")
        #expect(ChecksumLine.render(lines) == "aa  a.tar.gz\nbb  b.tar.gz\n")
        #expect(throws: ProofError.self) { try ChecksumLine.parse("not a line\n") }
    }

    @Test func jsonBytesAreFixed() {
        let value: JSONValue = ["b": [1, true, .null], "a": "x\"\\\n\u{01}/é", "B": [:]]
        #expect(
            String(decoding: value.serialized(), as: UTF8.self) == #"{"B":{},"a":"x\"\\\n\u0001/é","b":[1,true,null]}"#)
        #expect(String(decoding: JSONValue.array([1]).serialized(pretty: true), as: UTF8.self) == "[\n  1\n]")
    }
}
