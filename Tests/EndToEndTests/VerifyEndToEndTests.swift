import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild verify` and `kbuild diff` on a real release of examples/, then on copies of it with one
/// tampering each (made with GNU tar, openssl and plain file edits): each is caught, named, exit 1.
@Suite(.serialized) struct VerifyEndToEndTests {
    static let environment = ["KUBE_BUILD_PLATFORMS": "linux/amd64,linux/arm64", "SOURCE_DATE_EPOCH": "1700000000"]

    /// A workspace clone released once; every case works on a copy of its `_output`.
    struct Released {
        let dir: TemporaryDirectory
        var workspace: String { dir.appending("ws") }

        /// A fresh copy of the release's `_output` under `name`, and its release-tars path.
        func copy(_ name: String) async throws -> String {
            let output = dir.appending(name) + "/_output"
            try FileManager.default.createDirectory(atPath: dir.appending(name), withIntermediateDirectories: true)
            try await Tool.check("cp", ["-a", workspace + "/_output", output])
            return output + "/release-tars"
        }

        func verify(_ tars: String, _ extra: [String] = []) async throws -> CommandResult {
            try await runKbuild(["verify", tars, "-C", workspace] + extra, in: dir.path)
        }
    }

    static func release() async throws -> Released {
        let released = Released(dir: try TemporaryDirectory("kbuild-verify-e2e"))
        _ = try await Repository.exampleWorkspace(in: released.workspace, tag: "v1.2.3")
        let result = try await runKbuild(["release"], in: released.workspace, environment)
        try #require(result.succeeded, "\(result.stderr)")
        return released
    }

    /// Rewrites the sums, the `.sha256`/`.sha512` files and artifacts.json after a deliberate edit, as a
    /// careful attacker would, so only the deeper checks can catch it.
    static func reseal(_ tars: String) async throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: tars).sorted().filter {
            !$0.hasPrefix("SHA") && !$0.hasSuffix(".sha256") && !$0.hasSuffix(".sha512") && $0 != "artifacts.json"
                && !$0.hasSuffix(".intoto.jsonl")
        }
        var sums: [String: (String, String)] = [:]
        for name in names {
            let sha256 = String(try await Tool.check("sha256sum", [name], in: tars).prefix(64))
            let sha512 = String(try await Tool.check("sha512sum", [name], in: tars).prefix(128))
            sums[name] = (sha256, sha512)
            try (sha256 + "\n").write(toFile: "\(tars)/\(name).sha256", atomically: true, encoding: .utf8)
            try (sha512 + "\n").write(toFile: "\(tars)/\(name).sha512", atomically: true, encoding: .utf8)
        }
        try names.map { "\(sums[$0]!.0)  \($0)\n" }.joined().write(
            toFile: tars + "/SHA256SUMS", atomically: true, encoding: .utf8)
        try names.map { "\(sums[$0]!.1)  \($0)\n" }.joined().write(
            toFile: tars + "/SHA512SUMS", atomically: true, encoding: .utf8)
        let url = URL(fileURLWithPath: tars + "/artifacts.json")
        var artifacts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        for index in artifacts.indices {
            guard let name = artifacts[index]["name"] as? String, let sum = sums[name],
                (artifacts[index]["path"] as? String)?.hasPrefix("release-tars/") == true
            else { continue }
            artifacts[index]["sha256"] = sum.0
            artifacts[index]["size"] =
                try FileManager.default.attributesOfItem(atPath: tars + "/" + name)[.size] as? Int
        }
        try JSONSerialization.data(withJSONObject: artifacts, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }

    /// Unpacks `tarball` with GNU tar, lets `edit` change the tree, packs it again.
    static func repack(_ tarball: String, gzip: Bool = true, _ edit: (String) throws -> Void) async throws {
        let tree = tarball + ".tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try await Tool.check("tar", ["-xf", tarball, "-C", tree])
        try edit(tree)
        let top = try FileManager.default.contentsOfDirectory(atPath: tree).sorted()
        try await Tool.check(
            "tar",
            [gzip ? "-czf" : "-cf", tarball, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-C", tree]
                + top)
        try FileManager.default.removeItem(atPath: tree)
    }

    static func lines(_ result: CommandResult, _ prefix: String) -> [String] {
        result.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    @Test func verifyCatchesEveryTamperingAndDiffExplainsIt() async throws {
        let released = try await Self.release()
        defer { released.dir.remove() }
        let pristine = released.workspace + "/_output/release-tars"

        // The release as made: every check passes; --json says so too.
        let clean = try await released.verify(pristine)
        #expect(clean.succeeded, "\(clean.stdout)\(clean.stderr)")
        #expect(Self.lines(clean, "FAIL").isEmpty)
        for expected in [
            "ok   binary     kubernetes-server-linux-arm64.tar.gz!kubernetes/server/bin/kubelet: ELF arm64, carries v1.2.3",
            "ok   image      kubernetes-server-linux-amd64.tar.gz!kubernetes/server/bin/kube-proxy.tar: registry.k8s.io/kube-proxy-amd64:",
            "ok   source     kubernetes-src.tar.gz: exactly the", "ok   sha512     SHA512SUMS: all 10 files match",
        ] {
            #expect(clean.stdout.contains(expected), "\(expected) not in:\n\(clean.stdout)")
        }
        let json = try await released.verify(pristine, ["--json"])
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(
            report?["passed"] as? Bool == true && ((report?["checks"] as? [Any])?.count ?? 0) > 30, "\(json.stdout)")

        // One byte of a tarball changed.
        let flipped = try await released.copy("flip")
        let node = flipped + "/kubernetes-node-linux-amd64.tar.gz"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: node))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: node))
        let flip = try await released.verify(flipped)
        #expect(flip.status == 1)
        #expect(
            Self.lines(flip, "FAIL sha256     kubernetes-node-linux-amd64.tar.gz: SHA256SUMS says").count == 1,
            "\(flip.stdout)")

        // An arm64 kubectl in the amd64 client tarball, sums rewritten to match.
        let swapped = try await released.copy("swap")
        try await Self.repack(swapped + "/kubernetes-client-linux-amd64.tar.gz") { tree in
            let target = tree + "/kubernetes/client/bin/kubectl"
            try FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(
                atPath: released.workspace + "/_output/local/bin/linux/arm64/kubectl", toPath: target)
        }
        try await Self.reseal(swapped)
        let swap = try await released.verify(swapped)
        #expect(swap.status == 1)
        // The binary is named; the SBOM and the provenance, made before the swap, no longer match the sums.
        let swapFailures = Self.lines(swap, "FAIL")
        let expectedFailures = [
            "FAIL binary     kubernetes-client-linux-amd64.tar.gz!kubernetes/client/bin/kubectl: is ELF arm64, linux/amd64 needs ELF amd64",
            "FAIL sbom       kubernetes.spdx.json: gives kubernetes-client-linux-amd64.tar.gz sha256 ",
            "FAIL provenance kubernetes.intoto.jsonl: gives kubernetes-client-linux-amd64.tar.gz sha256 ",
        ]
        #expect(
            swapFailures.count == expectedFailures.count
                && zip(swapFailures, expectedFailures).allSatisfy { $0.hasPrefix($1) }, "\(swap.stdout)")
        let swapDiff = try await runKbuild(["diff", "--json", pristine, swapped], in: released.dir.path)
        #expect(swapDiff.status == 1)
        let differences = try #require(
            (try JSONSerialization.jsonObject(with: Data(swapDiff.stdout.utf8)) as? [String: Any])?["differences"]
                as? [[String: Any]])
        #expect(
            differences.contains {
                $0["path"] as? String == "kubernetes-client-linux-amd64.tar.gz!kubernetes/client/bin/kubectl"
                    && $0["field"] as? String == "go build GOARCH" && $0["a"] as? String == "amd64"
                    && $0["b"] as? String == "arm64"
            }, "\(swapDiff.stdout)")

        // An image retagged (manifest.json RepoTags edited, repacked with GNU tar).
        let retagged = try await released.copy("retag")
        let image = Paths.parent(of: retagged) + "/release-images/amd64/kube-proxy.tar"
        try await Self.repack(image, gzip: false) { tree in
            let manifest = tree + "/manifest.json"
            let text = try String(contentsOfFile: manifest, encoding: .utf8)
            try text.replacingOccurrences(
                of: #"kube-proxy-amd64:[0-9a-f]{32}"#, with: "kube-proxy-amd64:v9.9.9", options: .regularExpression
            )
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        }
        let retag = try await released.verify(retagged)
        #expect(retag.status == 1)
        #expect(
            Self.lines(
                retag,
                "FAIL image      release-images/amd64/kube-proxy.tar: RepoTags [\"registry.k8s.io/kube-proxy-amd64:v9.9.9\"] do not start with registry.k8s.io/kube-proxy-amd64:"
            ).count == 1,
            "\(retag.stdout)")
        let retagDiff = try await runKbuild(
            ["diff", released.workspace + "/_output/release-images/amd64/kube-proxy.tar", image], in: released.dir.path)
        #expect(retagDiff.status == 1)
        #expect(
            retagDiff.stdout.split(separator: "\n").contains {
                $0.hasPrefix("changed  kube-proxy.tar!manifest.json") && $0.contains("json $[0].RepoTags[0]")
                    && $0.hasSuffix("\"registry.k8s.io/kube-proxy-amd64:v9.9.9\"")
            }, "\(retagDiff.stdout)")

        // A file dropped, another added.
        let dropped = try await released.copy("drop")
        try FileManager.default.removeItem(atPath: dropped + "/kubernetes-manifests.tar.gz")
        try "hello\n".write(toFile: dropped + "/notes.txt", atomically: true, encoding: .utf8)
        let drop = try await released.verify(dropped)
        #expect(drop.status == 1)
        for line in [
            "FAIL sha256     kubernetes-manifests.tar.gz: listed in SHA256SUMS but missing from the directory",
            "FAIL files      notes.txt: is in the directory but not in SHA256SUMS",
            "FAIL artifacts  kubernetes-manifests.tar.gz: listed in artifacts.json but missing from the directory",
        ] {
            #expect(drop.stdout.contains(line), "\(line) not in:\n\(drop.stdout)")
        }

        // A file git never tracked, slipped into the src tarball.
        let smuggled = try await released.copy("smuggle")
        try await Self.repack(smuggled + "/kubernetes-src.tar.gz") { tree in
            try "package main\n".write(toFile: tree + "/extra.go", atomically: true, encoding: .utf8)
        }
        try await Self.reseal(smuggled)
        let smuggle = try await released.verify(smuggled)
        #expect(smuggle.status == 1)
        #expect(
            Self.lines(smuggle, "FAIL source     kubernetes-src.tar.gz!extra.go: is not tracked by git at").count == 1,
            "\(smuggle.stdout)")

        try await supplyChain(released)
    }

    /// A release signed with `kbuild release --sign-key`: its SBOM, provenance (DSSE) and SHA256SUMS.sig
    /// verify with the public key (and with openssl); a wrong key, an edited provenance and an edited
    /// SBOM are each caught.
    func supplyChain(_ released: Released) async throws {
        let dir = released.dir.path
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", "key.pem"], in: dir)
        try await Tool.check("openssl", ["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"], in: dir)
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", "other.pem"], in: dir)
        try await Tool.check("openssl", ["pkey", "-in", "other.pem", "-pubout", "-out", "otherpub.pem"], in: dir)
        let release = try await runKbuild(
            ["release", "--sign-key", dir + "/key.pem"], in: released.workspace, Self.environment)
        try #require(release.succeeded, "\(release.stderr)")
        let tars = try await released.copy("signed")

        let signed = try await released.verify(tars, ["--key", dir + "/pub.pem"])
        #expect(signed.succeeded, "\(signed.stdout)\(signed.stderr)")
        for prefix in [
            "ok   sbom       kubernetes.spdx.json",
            "ok   provenance kubernetes.intoto.jsonl: subjects are exactly the 10 files",
            "ok   signature  kubernetes.intoto.jsonl: DSSE envelope", "ok   signature  SHA256SUMS.sig: Ed25519",
        ] {
            #expect(Self.lines(signed, prefix).count == 1, "\(prefix) not in:\n\(signed.stdout)")
        }
        // The outside tool agrees on SHA256SUMS.sig.
        try await Tool.check(
            "openssl",
            [
                "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "pub.pem", "-in", tars + "/SHA256SUMS", "-sigfile",
                tars + "/SHA256SUMS.sig",
            ], in: dir)

        let wrongKey = try await released.verify(tars, ["--key", dir + "/otherpub.pem"])
        #expect(wrongKey.status == 1)
        #expect(Self.lines(wrongKey, "FAIL signature").count == 2, "\(wrongKey.stdout)")

        // The provenance edited: a subject's digest changed inside the envelope, the signature kept.
        let provenance = URL(fileURLWithPath: tars + "/kubernetes.intoto.jsonl")
        var envelope = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: provenance)) as? [String: Any])
        let payload = try #require((envelope["payload"] as? String).flatMap { Data(base64Encoded: $0) })
        var statement = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        var subjects = try #require(statement["subject"] as? [[String: Any]])
        // A file's subject (image subjects are checked against release-images, absent from this copy).
        let fileSubject = try #require(subjects.firstIndex { ($0["name"] as? String)?.hasPrefix("image:") == false })
        let first = try #require(subjects[fileSubject]["name"] as? String)
        subjects[fileSubject]["digest"] = ["sha256": String(repeating: "0", count: 64)]
        statement["subject"] = subjects
        envelope["payload"] = try JSONSerialization.data(withJSONObject: statement, options: [.sortedKeys])
            .base64EncodedString()
        var line = try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])
        line.append(0x0a)
        try line.write(to: provenance)
        let tampered = try await released.verify(tars, ["--key", dir + "/pub.pem"])
        #expect(tampered.status == 1)
        #expect(
            Self.lines(tampered, "FAIL provenance kubernetes.intoto.jsonl: gives \(first) sha256 0000").count == 1,
            "\(tampered.stdout)")
        #expect(
            Self.lines(tampered, "FAIL signature  kubernetes.intoto.jsonl: no DSSE signature verifies").count == 1,
            "\(tampered.stdout)")

        // The SBOM edited (and resealed): its digest for one tarball no longer matches the sums.
        let sbomURL = URL(fileURLWithPath: tars + "/kubernetes.spdx.json")
        var sbom = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: sbomURL)) as? [String: Any])
        var packages = try #require(sbom["packages"] as? [[String: Any]])
        let index = try #require(
            packages.firstIndex { ($0["packageFileName"] as? String)?.hasSuffix(".tar.gz") == true })
        let tarball = try #require(packages[index]["packageFileName"] as? String)
        packages[index]["checksums"] = [["algorithm": "SHA256", "checksumValue": String(repeating: "f", count: 64)]]
        sbom["packages"] = packages
        try JSONSerialization.data(withJSONObject: sbom, options: [.sortedKeys]).write(to: sbomURL)
        try await Self.reseal(tars)
        let sbomEdited = try await released.verify(tars)
        #expect(sbomEdited.status == 1)
        #expect(
            Self.lines(sbomEdited, "FAIL sbom       kubernetes.spdx.json: gives \(Paths.name(of: tarball)) sha256 ffff")
                .count == 1, "\(sbomEdited.stdout)")
    }

    @Test func rebuildOfTheReleaseCommitIsByteIdentical() async throws {
        let released = try await Self.release()
        defer { released.dir.remove() }
        let result = try await runKbuild(
            ["verify", "--rebuild", "-C", released.workspace], in: released.dir.path, ["TZ": "UTC", "LC_ALL": "C"])
        #expect(result.succeeded, "\(result.stdout)\(result.stderr)")
        #expect(Self.lines(result, "ok   rebuild    rebuild of ").count == 1, "\(result.stdout)")
        #expect(result.stderr.contains("TZ=Pacific/Chatham, LC_ALL=C.UTF-8"), "\(result.stderr)")
        // The clone is gone afterwards.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter {
            $0.hasPrefix("kbuild-rebuild.")
        }
        #expect(leftovers.isEmpty, "\(leftovers)")

        // A release whose tarball got a gzip header time (as `gzip` without -n writes): the rebuild differs
        // exactly there, and says so.
        let node = released.workspace + "/_output/release-tars/kubernetes-node-linux-amd64.tar.gz"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: node))
        bytes.replaceSubrange(4..<8, with: [0x00, 0xf1, 0x53, 0x65])
        try bytes.write(to: URL(fileURLWithPath: node))
        let differs = try await runKbuild(["verify", "--rebuild", "-C", released.workspace], in: released.dir.path)
        #expect(differs.status == 1)
        #expect(Self.lines(differs, "FAIL rebuild    rebuild of ").count == 1, "\(differs.stdout)")
        let rows = differs.stdout.split(separator: "\n").filter { $0.hasPrefix("changed") }.map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        #expect(
            rows == ["changed kubernetes-node-linux-amd64.tar.gz gzip header mtime 1700000000 0"], "\(differs.stdout)")

        // --json: one document, {"rebuild": <diff report>, "verify": <verify report>}.
        let json = try await runKbuild(
            ["verify", "--rebuild", "--json", "-C", released.workspace], in: released.dir.path)
        #expect(json.status == 1)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        let rebuild = try #require(document["rebuild"] as? [String: Any])
        let verify = try #require(document["verify"] as? [String: Any])
        #expect(rebuild["identical"] as? Bool == false)
        #expect((rebuild["differences"] as? [Any])?.count == 1, "\(json.stdout)")
        #expect(verify["passed"] as? Bool == false)
        #expect(verify["directory"] as? String == released.workspace + "/_output/release-tars")
    }
}
