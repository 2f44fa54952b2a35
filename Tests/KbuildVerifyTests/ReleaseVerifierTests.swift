import Foundation
import KbuildCore
import KbuildDigest
import KbuildVerify
import TestSupport
import Testing

/// `ReleaseVerifier` (and through it `TarballVerifier` and `SupplyChainVerifier`) called as a library on a
/// real release of examples/ (one platform, made by the built kbuild), each case with one tampering:
/// each asserts the one verdict that names it.
@Suite(.serialized) struct ReleaseVerifierTests {
    /// examples/ released for linux/amd64 into `dir/ws` (Go's shared cache keeps it to seconds); the path of
    /// its release-tars. Each case tampers with its own release and removes it.
    func release(into dir: TemporaryDirectory, signKey: String? = nil) async throws -> String {
        let workspace = dir.appending("ws")
        _ = try await Repository.exampleWorkspace(in: workspace, tag: "v1.2.3")
        var environment: [String: String?] = [
            "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000",
            "KBUILD_GOCACHE": SharedGoCache.path,
        ]
        // A developer's shell must not change the release (platforms, version, signing, remote cache).
        for name in ProcessInfo.processInfo.environment.keys
        where name.hasPrefix("KUBE_") && environment[name] == nil || name.hasPrefix("KBUILD_REMOTE")
            || name == "KBUILD_SIGN_KEY"
        {
            environment[name] = .some(nil)
        }
        if let signKey { environment["KBUILD_SIGN_KEY"] = signKey }
        let result = try await Tool.run(Repository.kbuildBinary, ["release"], in: workspace, environment: environment)
        try #require(result.succeeded, "\(result.stderr)")
        return workspace + "/_output/release-tars"
    }

    func verify(_ tars: String) async throws -> VerifyReport {
        try await ReleaseVerifier(directory: tars, workspace: nil, jobs: 2).verify()
    }

    /// The failures of `check` about `subject`.
    func failures(_ report: VerifyReport, _ check: String, _ subject: String) -> [VerifyCheck] {
        report.failures.filter { $0.check == check && $0.subject == subject }
    }

    func edit(_ path: String, _ change: (String) -> String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = change(text)
        try #require(changed != text, "the edit of \(path) changed nothing")
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static let client = "kubernetes-client-linux-amd64.tar.gz"

    @Test func theUntouchedReleasePasses() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let report = try await verify(try await release(into: dir))
        #expect(report.passed, "\(report.failures.map(\.line))")
        // Every family of checks ran: a verifier that checks nothing would pass too.
        let families = Set(report.checks.filter { $0.status == .ok }.map(\.check))
        for family in ["sha256", "sha512", "files", "artifacts", "layout", "binary", "image", "sbom", "provenance"] {
            #expect(families.contains(family), "no ok \(family) check in \(report.checks.map(\.line))")
        }
    }

    /// The image tarballs beside the release are streamed (never held whole): a byte changed inside the
    /// layer is found by the layer's digest and by the md5 of the binary inside it.
    @Test func aByteChangedInAnImageLayerIsFound() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        let image = Paths.parent(of: tars) + "/release-images/amd64/kube-proxy.tar"
        let handle = try #require(FileHandle(forUpdatingAtPath: image))
        let size = try handle.seekToEnd()
        // The middle of the tarball lies inside the layer, inside the 1.4 MB binary.
        try handle.seek(toOffset: size / 2)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data([byte ^ 0xff]))
        try handle.close()
        let found = failures(try await verify(tars), "image", "release-images/amd64/kube-proxy.tar").map(\.detail)
        #expect(found.contains { $0.contains("not its name") }, "\(found)")
        #expect(found.contains { $0.contains("is not the md5 of the binary inside") }, "\(found)")
    }

    @Test func theJSONReportSaysPassedAndReadsBack() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        try writeFile(tars + "/notes.txt", "not released\n")
        let report = try await verify(tars)
        let json = report.json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["passed"] as? Bool == false, "\(json)")
        #expect(object["directory"] as? String == tars)
        #expect((object["checks"] as? [Any])?.count == report.checks.count)
        let decoded = try JSONDecoder().decode(VerifyReport.self, from: Data(json.utf8))
        #expect(decoded.checks == report.checks && decoded.directory == tars && !decoded.passed)
    }

    @Test func aFlippedByteFailsBothDigestsOfThatFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        let handle = try #require(FileHandle(forUpdatingAtPath: tars + "/" + Self.client))
        try handle.seek(toOffset: 100)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: [byte ^ 0x01])
        try handle.close()
        let report = try await verify(tars)
        #expect(!report.passed)
        let sha256 = failures(report, "sha256", Self.client)
        #expect(sha256.contains { $0.detail.hasPrefix("SHA256SUMS says") }, "\(report.failures.map(\.line))")
        #expect(sha256.contains { $0.detail.hasPrefix("\(Self.client).sha256 says") })
        #expect(failures(report, "sha512", Self.client).contains { $0.detail.hasPrefix("SHA512SUMS says") })
        // artifacts.json agrees with SHA256SUMS, which is what it is checked against: only the bytes changed.
        #expect(failures(report, "artifacts", Self.client).isEmpty)
    }

    @Test func aMissingSumsLineNamesTheUnlistedFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        try edit(tars + "/SHA256SUMS") { text in
            text.split(separator: "\n").filter { !$0.hasSuffix("  " + Self.client) }.map { $0 + "\n" }.joined()
        }
        let report = try await verify(tars)
        #expect(
            failures(report, "files", Self.client).map(\.detail) == ["is in the directory but not in SHA256SUMS"],
            "\(report.failures.map(\.line))")
        // The other sums and the file itself are sound: nothing else fails but what SHA256SUMS feeds.
        #expect(failures(report, "sha512", Self.client).isEmpty)
        #expect(!report.failures.contains { $0.check == "sha256" && $0.subject == Self.client })
    }

    @Test func anExtraFileIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        try writeFile(tars + "/notes.txt", "not released\n")
        let report = try await verify(tars)
        #expect(
            failures(report, "files", "notes.txt").map(\.detail).contains("is in the directory but not in SHA256SUMS"),
            "\(report.failures.map(\.line))")
        #expect(
            failures(report, "files", "notes.txt").map(\.detail).contains("is in the directory but not in SHA512SUMS"))
    }

    @Test func aWrongDigestInTheSBOMIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        let listed = try String(contentsOfFile: tars + "/SHA256SUMS", encoding: .utf8)
        let line = try #require(listed.split(separator: "\n").first { $0.hasSuffix("  " + Self.client) })
        let digest = String(line.prefix(64))
        let wrong = String(repeating: "0", count: 64)
        try edit(tars + "/kubernetes.spdx.json") { $0.replacingOccurrences(of: digest, with: wrong) }
        let report = try await verify(tars)
        #expect(
            failures(report, "sbom", "kubernetes.spdx.json").map(\.detail)
                == ["gives \(Self.client) sha256 \(wrong), SHA256SUMS \(digest)"],
            "\(report.failures.map(\.line))")
    }

    @Test func aProvenanceWithoutOneSubjectIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        let path = tars + "/kubernetes.intoto.jsonl"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var statement = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let subjects = try #require(statement["subject"] as? [[String: Any]])
        statement["subject"] = subjects.filter { ($0["name"] as? String) != Self.client }
        try #require((statement["subject"] as? [Any])?.count == subjects.count - 1)
        var line = try JSONSerialization.data(withJSONObject: statement, options: [.sortedKeys])
        line.append(0x0A)
        try line.write(to: URL(fileURLWithPath: path))
        let report = try await verify(tars)
        #expect(
            failures(report, "provenance", "kubernetes.intoto.jsonl").map(\.detail)
                == ["has no subject \(Self.client) (SHA256SUMS lists it)"],
            "\(report.failures.map(\.line))")
    }

    @Test func aWrongKindInArtifactsJSONFailsTheTarballsLayout() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tars = try await release(into: dir)
        // The client tarball claimed as a node tarball: its binaries are then the wrong ones.
        let url = URL(fileURLWithPath: tars + "/artifacts.json")
        var artifacts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        let index = try #require(artifacts.firstIndex { ($0["name"] as? String) == Self.client })
        #expect(artifacts[index]["kind"] as? String == "client")
        artifacts[index]["kind"] = "node"
        try JSONSerialization.data(withJSONObject: artifacts, options: [.prettyPrinted, .sortedKeys]).write(to: url)
        let report = try await verify(tars)
        #expect(
            failures(report, "layout", Self.client).map(\.detail).contains(
                "has no binaries under kubernetes/node/bin/"),
            "\(report.failures.map(\.line))")
        // Only the layout is wrong: the bytes still match every digest.
        #expect(!report.failures.contains { ["sha256", "sha512", "artifacts"].contains($0.check) })
    }

    /// A PEM Ed25519 key pair by openssl: (private, public).
    func keyPair(_ dir: TemporaryDirectory, _ name: String) async throws -> (String, String) {
        let (key, pub) = (dir.appending("\(name).pem"), dir.appending("\(name).pub"))
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", key])
        try await Tool.check("openssl", ["pkey", "-in", key, "-pubout", "-out", pub])
        return (key, pub)
    }

    @Test func aSignatureByAnotherKeyFailsBothSignatures() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (key, pub) = try await keyPair(dir, "release")
        let (_, otherPub) = try await keyPair(dir, "other")
        let tars = try await release(into: dir, signKey: key)
        func signatureChecks(_ pem: String) async throws -> [VerifyCheck] {
            let key = try Ed25519PublicKey(pemFile: pem)
            let report = try await ReleaseVerifier(directory: tars, workspace: nil, key: key, jobs: 2).verify()
            return report.checks.filter { $0.check == "signature" }
        }
        let good = try await signatureChecks(pub)
        #expect(Set(good.map(\.subject)) == ["SHA256SUMS.sig", "kubernetes.intoto.jsonl"], "\(good.map(\.line))")
        #expect(good.allSatisfy { $0.status == .ok })
        let bad = try await signatureChecks(otherPub)
        #expect(
            bad.filter { $0.status == .fail }.map(\.subject).sorted() == ["SHA256SUMS.sig", "kubernetes.intoto.jsonl"],
            "\(bad.map(\.line))")
    }
}
