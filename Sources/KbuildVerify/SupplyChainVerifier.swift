import Foundation
import KbuildCore
import KbuildDigest
import KbuildProof
import KbuildPublish

/// Checks the SBOM (`<project>.spdx.json`), the provenance (`<project>.intoto.jsonl`) and, with a key,
/// the signatures (the provenance's DSSE envelope and `SHA256SUMS.sig`) against SHA256SUMS.
struct SupplyChainVerifier {
    let files: ReleaseFiles
    /// SHA256SUMS as name → hex.
    let sums: [String: String]
    let key: Ed25519PublicKey?

    static let statementType = "https://in-toto.io/Statement/v1"
    static let payloadType = "application/vnd.in-toto+json"

    func verify() -> [VerifyCheck] {
        var checks: [VerifyCheck] = []
        guard let project = files.project else { return verifySumsSignature() }
        let sbom = "\(project).spdx.json"
        if files.names.contains(sbom) { checks += verifySBOM(sbom) }
        let provenance = "\(project).intoto.jsonl"
        if files.names.contains(provenance) {
            checks += verifyProvenance(provenance)
        } else if key != nil {
            checks.append(.fail("provenance", provenance, "missing: --key needs a signed provenance"))
        }
        checks += verifySumsSignature()
        return checks
    }

    private func json(_ name: String) -> JSONValue? {
        files.contents(name).flatMap(JSONValue.parse)
    }

    private func verifySBOM(_ name: String) -> [VerifyCheck] {
        guard let document = json(name), let packages = document["packages"]?.array
        else {
            return [.fail("sbom", name, "is not an SPDX JSON document with packages")]
        }
        var failures: [VerifyCheck] = []
        if document["spdxVersion"]?.string != "SPDX-2.3" {
            let found = document["spdxVersion"].map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "missing"
            failures.append(.fail("sbom", name, "spdxVersion is \(found), expected SPDX-2.3"))
        }
        var described: [String: String] = [:]
        for package in packages {
            guard let file = package["packageFileName"]?.string else { continue }
            let checksums = package["checksums"]?.array ?? []
            let sha256 = checksums.first { $0["algorithm"]?.string == "SHA256" }?["checksumValue"]?.string
            described[Paths.name(of: file)] = sha256?.lowercased() ?? ""
        }
        // The archives: the plan's (tar.gz, zip, binary assets), else Kubernetes' tar.gz files.
        let archives = Set(files.tarballs)
        let sumsName = files.sha256Sums
        for tarball in sums.keys.sorted() where archives.contains(tarball) {
            guard let digest = described[tarball] else {
                failures.append(.fail("sbom", name, "has no package for \(tarball)"))
                continue
            }
            if digest != sums[tarball] {
                failures.append(
                    .fail(
                        "sbom", name,
                        "gives \(tarball) sha256 \(digest.isEmpty ? "none" : digest), \(sumsName) \(sums[tarball] ?? "")"
                    ))
            }
        }
        for (file, digest) in described.sorted(by: { $0.key < $1.key })
        where (archives.contains(file) || file.hasSuffix(".tar.gz")) && sums[file] == nil {
            failures.append(
                .fail("sbom", name, "describes \(file) (sha256 \(digest)), which \(sumsName) does not list"))
        }
        guard failures.isEmpty else { return failures }
        return [
            .ok(
                "sbom", name,
                "a package with the \(sumsName) digest for each of \(sums.keys.filter(archives.contains).count) tarballs"
            )
        ]
    }

    private func verifyProvenance(_ name: String) -> [VerifyCheck] {
        let object: JSONValue
        let statement: JSONValue
        let payload: Data?
        switch Self.readStatement(files.contents(name)) {
        case .failure(let problem): return [.fail("provenance", name, problem.text)]
        case .success(let read): (object, statement, payload) = read
        }
        var checks: [VerifyCheck] = []
        if let payload {
            checks += verifyEnvelope(name, object, payload: payload)
        } else if key != nil {
            checks.append(.fail("signature", name, "is an unsigned statement; --key expects a DSSE envelope"))
        }
        guard statement["_type"]?.string == Self.statementType, let subjects = statement["subject"]?.array
        else {
            return checks + [.fail("provenance", name, "is not an in-toto Statement v1 with subjects")]
        }
        var named: [String: String] = [:]
        var images: [String: String] = [:]
        var failures: [VerifyCheck] = []
        for subject in subjects {
            let file = subject["name"]?.string ?? ""
            let digest = subject["digest"]?["sha256"]?.string ?? ""
            if named[file] != nil || images[file] != nil {
                failures.append(.fail("provenance", name, "names \(file) twice"))
            }
            if file.hasPrefix(ImagePublication.subjectPrefix) { images[file] = digest } else { named[file] = digest }
        }
        for (file, digest) in sums.sorted(by: { $0.key < $1.key }) {
            guard let claimed = named[file] else {
                failures.append(.fail("provenance", name, "has no subject \(file) (\(files.sha256Sums) lists it)"))
                continue
            }
            if claimed != digest {
                failures.append(
                    .fail("provenance", name, "gives \(file) sha256 \(claimed), \(files.sha256Sums) \(digest)"))
            }
        }
        for file in Set(named.keys).subtracting(sums.keys).sorted() {
            failures.append(
                .fail("provenance", name, "has the subject \(file), which \(files.sha256Sums) does not list"))
        }
        if failures.isEmpty {
            failures.append(
                .ok(
                    "provenance", name,
                    "subjects are exactly the \(sums.count) files and digests of \(files.sha256Sums)"))
        }
        return failures + verifyImageSubjects(name, images) + checks
    }

    /// The image subjects (`image:<bin>:<tag>` for each index, `…:<os>/<arch>` for each manifest) must be
    /// exactly the digests of the release's images beside the release (`_output/release-images`), which
    /// `kbuild publish` pushes.
    private func verifyImageSubjects(_ name: String, _ claimed: [String: String]) -> [VerifyCheck] {
        guard let first = claimed.keys.sorted().first else { return [] }
        let parts = first.dropFirst(ImagePublication.subjectPrefix.count).split(separator: ":")
        guard parts.count >= 2 else { return [.fail("provenance", name, "image subject \(first) has no tag")] }
        let output = Paths.parent(of: files.directory)
        guard FileManager.default.fileExists(atPath: output + "/release-images") else {
            return [.skip("provenance", name, "\(claimed.count) image subjects not checked: no release-images beside")]
        }
        let expected: [String: String]
        do {
            let publications = try ImagePublication.plan(
                output: output, registry: PublishRegistry("registry"), tag: String(parts[1]))
            expected = Dictionary(publications.flatMap(\.subjects), uniquingKeysWith: { a, _ in a })
        } catch {
            return [.fail("provenance", name, "the release's images cannot be read: \(error)")]
        }
        var failures: [VerifyCheck] = []
        for (subject, digest) in claimed.sorted(by: { $0.key < $1.key }) where expected[subject] != digest {
            let actual = expected[subject].map { "the image has \($0.prefix(16))…" } ?? "the release has no such image"
            failures.append(.fail("provenance", name, "gives \(subject) sha256 \(digest.prefix(16))…, \(actual)"))
        }
        for subject in Set(expected.keys).subtracting(claimed.keys).sorted() {
            failures.append(.fail("provenance", name, "has no subject \(subject) (the release's images have it)"))
        }
        return failures.isEmpty
            ? [
                .ok(
                    "provenance", name,
                    "\(claimed.count) image subjects are the digests of the release's indexes and manifests")
            ]
            : failures
    }

    /// DSSE v1: the signature is over PAE(type, body) = "DSSEv1 <len> <type> <len> <body>".
    private func verifyEnvelope(_ name: String, _ envelope: JSONValue, payload: Data) -> [VerifyCheck] {
        guard let key else {
            return [VerifyCheck(.skip, "signature", name, "DSSE envelope not checked: no --key")]
        }
        let pae = DSSE.pae(payloadType: Self.payloadType, payload: payload)
        let signatures = DSSE.signatures(of: envelope)
        guard !signatures.isEmpty else { return [.fail("signature", name, "the DSSE envelope has no signatures")] }
        guard signatures.contains(where: { key.verify(signature: $0, of: pae) }) else {
            return [.fail("signature", name, "no DSSE signature verifies with the key \(key.keyID.prefix(16))")]
        }
        return [.ok("signature", name, "DSSE envelope signed by the key \(key.keyID.prefix(16))")]
    }

    /// Why a provenance file could not be read as a statement.
    struct Unreadable: Error {
        let text: String
    }

    /// The provenance file's line, its in-toto statement (the DSSE payload when it is an envelope) and the
    /// payload bytes of an envelope.
    static func readStatement(_ data: Data?) -> Result<
        (line: JSONValue, statement: JSONValue, payload: Data?), Unreadable
    > {
        guard let data else {
            return .failure(Unreadable(text: "cannot be read"))
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.isEmpty }
        guard lines.count == 1, let line = lines.first,
            let object = JSONValue.parse(Data(line.utf8)), object.object != nil
        else {
            return .failure(Unreadable(text: "is not one line of JSON (\(lines.count) lines)"))
        }
        guard let type = object["payloadType"]?.string else { return .success((object, object, nil)) }
        guard type == payloadType, let payload = object["payload"]?.string.flatMap({ Data(base64Encoded: $0) }),
            let inner = JSONValue.parse(payload), inner.object != nil
        else {
            return .failure(Unreadable(text: "DSSE envelope without an in-toto payload (\(payloadType), base64)"))
        }
        return .success((object, inner, payload))
    }

    private func verifySumsSignature() -> [VerifyCheck] {
        let name = files.signature
        let sums = files.sha256Sums
        guard files.names.contains(name) else {
            return key == nil ? [] : [.fail("signature", name, "missing: --key needs a signature over \(sums)")]
        }
        guard let key else { return [VerifyCheck(.skip, "signature", name, "not checked: no --key")] }
        guard let signature = files.contents(name), let message = files.contents(sums)
        else { return [.fail("signature", name, "cannot read it or \(sums)")] }
        // Raw 64 bytes as `openssl pkeyutl -sign -rawin` writes them; base64 text is accepted too.
        var raw = Array(signature)
        if raw.count != 64,
            let decoded = Data(
                base64Encoded: String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        {
            raw = Array(decoded)
        }
        guard key.verify(signature: raw, of: Array(message)) else {
            return [.fail("signature", name, "does not verify \(sums) with the key \(key.keyID.prefix(16))")]
        }
        return [.ok("signature", name, "Ed25519 signature over \(sums) by the key \(key.keyID.prefix(16))")]
    }
}
