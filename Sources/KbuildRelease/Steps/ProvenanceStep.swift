import Foundation
import KbuildArtifact
import KbuildCore
import KbuildDigest
import KbuildProof
import KbuildPublish

/// Writes `<project>.intoto.jsonl` (an in-toto Statement with a SLSA v1 provenance predicate whose
/// subjects are exactly the files of SHA256SUMS) into the temporary `release-tars`; with a signing
/// key, the statement in a DSSE envelope and `SHA256SUMS.sig`.
struct ProvenanceStep: ReleaseStep {
    let name = StepName.provenance

    /// What the provenance says beyond SHA256SUMS (which the earlier steps' inputs cover): the signing
    /// key, the kbuild version, the config's sha256, the git source, the Go version, the KUBE_* overrides
    /// and the image subjects. A config that cannot be read is an error here as in `run`: a key without
    /// its digest could reuse a provenance that names another config.
    struct Inputs: Encodable, Sendable {
        /// nil: unsigned.
        var signingKey: String?
        var toolVersion: String
        /// nil: the release was given no config file.
        var configSHA256: String?
        var source: SourceReference?
        /// nil without a located toolchain (`--skip-build`): the binaries, covered by the stage's
        /// inputs, say which Go built them.
        var goVersion: String?
        var environment: [String: String]
        /// Image digests by name: the subjects must follow the images that are there.
        var images: [String: String]
    }

    func inputs(_ draft: ReleaseDraft, in context: StepContext) async throws -> Inputs {
        let proof = context.options.proof
        let images = try Self.imageSubjects(context.plan)
        return Inputs(
            signingKey: proof.signingKey?.publicKey.keyID, toolVersion: proof.toolVersion,
            configSHA256: try proof.configFile.map(fileSHA256), source: draft.source,
            goVersion: context.goVersion, environment: proof.environment,
            images: Dictionary(images.map { ($0.name, $0.digest) }, uniquingKeysWith: { first, _ in first }))
    }

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let proof = context.options.proof
        // Without a located toolchain (--skip-build), the binaries say which Go built them.
        let goVersion =
            context.goVersion
            ?? plan.builds.lazy.compactMap { target in
                (try? Data(contentsOf: URL(fileURLWithPath: target.output), options: .alwaysMapped))
                    .flatMap(GoBuildInfo.read(binary:)).map { String($0.goVersion.dropFirst(2)) }
            }.first
        let provenance = try Provenance.file(
            ProvenanceInput(
                project: plan.project, version: plan.version.version, sourceDate: plan.sourceDate,
                subjects: try ChecksumLine.parse(String(decoding: draft.sha256sums, as: UTF8.self))
                    + Self.imageSubjects(plan),
                configPath: proof.configFile.map { plan.documentName($0) } ?? "",
                configSHA256: try proof.configFile.map(fileSHA256) ?? "",
                platforms: Dictionary(
                    uniqueKeysWithValues: plan.config.platformsByKind.filter { !$0.value.isEmpty }
                        .map { ($0.key.rawValue, $0.value.map(\.description)) }),
                environment: proof.environment, source: draft.source, goVersion: goVersion,
                baseImages: try plan.config.images.base.map {
                    [ProvenanceMaterial(name: plan.documentName($0), sha256: try fileSHA256($0))]
                } ?? [],
                toolVersion: proof.toolVersion,
                internalParameters: ["compressionLevel": String(context.options.compressionLevel)]),
            signedWith: proof.signingKey)
        let file = Provenance.fileName(project: plan.project)
        try FileOutput.writeAtomically(provenance, to: "\(draft.tarsRoot)/\(file)")
        guard let key = proof.signingKey else { return .wroteProvenance(file: file, signature: nil) }
        // Raw 64-byte Ed25519 signature, what `openssl pkeyutl -sign -rawin` writes.
        let signature = context.plan.sideFiles.first { $0.kind == .signature }?.name ?? "SHA256SUMS.sig"
        try FileOutput.writeAtomically(Data(try key.sign(draft.sha256sums)), to: draft.tarsRoot + "/" + signature)
        return .wroteProvenance(file: file, signature: .init(file: signature, keyID: key.publicKey.keyID))
    }

    /// The digests `kbuild publish` will push, known from the image tarballs: each binary's OCI index
    /// and each architecture's manifest (see KbuildPublish's `ImagePublication.subjects`).
    static func imageSubjects(_ plan: ReleasePlan) throws -> [ChecksumLine] {
        let images = plan.images.filter { FileManager.default.fileExists(atPath: $0.tarball) }
            .map { (binary: $0.request.binary, tarball: $0.tarball) }
        return try ImagePublication.group(
            images, tag: ImagePublication.tag(version: plan.version.version), repository: { $0 }
        ).flatMap(\.subjects).map { ChecksumLine(digest: $0.sha256, name: $0.name) }
    }

    /// The git facts the provenance names: the `origin` remote (credentials and local paths left out), the ref, the commit.
    static func sourceReference(_ context: StepContext) async -> SourceReference? {
        let version = context.plan.version
        guard !version.commit.isEmpty else { return nil }
        func git(_ arguments: String...) async -> String? {
            guard
                let result = try? await context.processes.run(
                    Command("git", ["-C", context.plan.workspace] + arguments)),
                result.succeeded
            else { return nil }
            let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
        // Three independent questions: asked at once.
        async let tag = git("describe", "--exact-match", "--tags", "--match=v*", "HEAD")
        async let branch = git("symbolic-ref", "-q", "HEAD")
        async let origin = git("remote", "get-url", "origin")
        let (exactTag, symbolic, fetchURL) = await (tag, branch, origin)
        let ref = exactTag.map { "refs/tags/" + $0 } ?? symbolic ?? version.commit
        let remote = fetchURL.flatMap(publicRemote)
        return SourceReference(remote: remote, ref: ref, commit: version.commit, treeState: version.treeState)
    }

    /// A remote URL fit to publish: userinfo, query and fragment dropped (where tokens hide), scp-like
    /// `host:path` as `ssh://host/path`, local paths nil.
    static func publicRemote(_ url: String) -> String? {
        if var parts = URLSecrets(url) {
            parts.scheme = parts.scheme?.lowercased()
            guard parts.scheme != "file" else { return nil }
            return parts.stripped
        }
        guard !url.hasPrefix("/"), !url.hasPrefix("."), let colon = url.firstIndex(of: ":") else { return nil }
        var host = url[..<colon]
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        return URLSecrets("ssh://\(host)/\(url[url.index(after: colon)...])")?.stripped
    }
}

extension ReleasePlan {
    /// Workspace-relative, or just the file name for a file elsewhere: documents never name machine paths.
    func documentName(_ path: String) -> String {
        path.hasPrefix(workspace + "/") ? relative(path) : Paths.name(of: path)
    }
}
