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
    let scratch: PackageScratch
    /// The git remote, ref and commit, read by the runner; nil without a commit.
    let source: SourceReference?
    /// The release config and its sha256, read once here for the key and the document alike: a config
    /// that cannot be read is an error, never a key or a provenance without its digest.
    let config: (path: String, sha256: String)?

    init(scratch: PackageScratch, source: SourceReference?, configFile: String?) throws(ReleaseError) {
        self.scratch = scratch
        self.source = source
        if let configFile {
            config = (configFile, try fileSHA256(configFile))
        } else {
            config = nil
        }
    }

    /// What the provenance says beyond SHA256SUMS (which the earlier steps' inputs cover): the signing
    /// key, the kbuild version, the config's sha256, the git source, the Go version, the KUBE_* overrides
    /// and the image subjects.
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
            configSHA256: config?.sha256, source: source,
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
        // A layout without SHA256SUMS: no subjects from it, and empty bytes for a signature to cover.
        let sums = draft.sha256sums ?? Data()
        let provenance = try Provenance.file(
            ProvenanceInput(
                project: plan.project, version: plan.version.version, sourceDate: plan.sourceDate,
                subjects: try ChecksumLine.parse(String(decoding: sums, as: UTF8.self)) + Self.imageSubjects(plan),
                configPath: config.map { plan.documentName($0.path) } ?? "",
                configSHA256: config?.sha256 ?? "",
                platforms: Dictionary(
                    uniqueKeysWithValues: plan.config.platformsByKind.filter { !$0.value.isEmpty }
                        .map { ($0.key.rawValue, $0.value.map(\.description)) }),
                environment: proof.environment, source: source, goVersion: goVersion,
                baseImages: try plan.config.images.base.map {
                    [ProvenanceMaterial(name: plan.documentName($0), sha256: try fileSHA256($0))]
                } ?? [],
                toolVersion: proof.toolVersion,
                internalParameters: ["compressionLevel": String(context.options.compressionLevel)]),
            signedWith: proof.signingKey)
        let file = Provenance.fileName(project: plan.project)
        try FileOutput.writeAtomically(provenance, to: "\(scratch.tars)/\(file)")
        guard let key = proof.signingKey else { return .wroteProvenance(file: file, signature: nil) }
        // Raw 64-byte Ed25519 signature, what `openssl pkeyutl -sign -rawin` writes.
        let signature = context.plan.sideFiles.first { $0.kind == .signature }?.name ?? "SHA256SUMS.sig"
        try FileOutput.writeAtomically(
            Data(try key.sign(sums)), to: scratch.tars + "/" + signature)
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
}

extension ReleasePlan {
    /// Workspace-relative, or just the file name for a file elsewhere: documents never name machine paths.
    func documentName(_ path: String) -> String {
        path.hasPrefix(workspace + "/") ? relative(path) : Paths.name(of: path)
    }
}
