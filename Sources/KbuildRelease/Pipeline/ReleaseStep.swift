import Foundation
import KbuildArchive
import KbuildArtifact
import KbuildCore
import KbuildDigest
import KbuildGo
import KbuildProof

/// One step of a release, in a file of its own under `Steps/`.
///
/// A step is given what it needs of the run as properties (the source digest, the tracked files, the
/// scratch directories), reads what earlier steps produced in the draft, does its work, adds what it
/// produced, and says what it did as a `StepOutcome` value. Steps never take the lock: `StepRunner` does. The package steps are cached as one
/// phase: the runner keys `OutputCache` on every step's `inputs`. Steps with many independent items
/// (`BuildStep` per binary, `ImagesStep` per image) consult `OutputCache` themselves, per item, so one
/// changed binary rebuilds and rewraps only itself: the better design where the items are independent.
protocol ReleaseStep: Sendable {
    /// What this step's outputs depend on beyond the source digest, as a value whose canonical
    /// JSON the runner hashes into the key of the phase the step runs in. No display text, no lists
    /// of fields as strings: a field added here changes every key once, as it should.
    associatedtype Inputs: Encodable & Sendable = NoInputs

    /// The name in progress lines and in the phase's key.
    var name: StepName { get }

    /// This step's `Inputs`, read without changing the draft.
    func inputs(_ draft: ReleaseDraft, in context: StepContext) async throws -> Inputs

    /// Does the work; the runner holds the `_output` lock.
    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome
}

/// The inputs of a step whose outputs depend only on what earlier steps' inputs cover.
struct NoInputs: Encodable, Sendable, Equatable {}

extension ReleaseStep where Inputs == NoInputs {
    func inputs(_ draft: ReleaseDraft, in context: StepContext) async throws -> NoInputs { NoInputs() }
}

/// The steps of a release, in the order they run (shard and merge: the two halves of a sharded one).
public enum StepName: String, Sendable, CaseIterable, CodingKey {
    case build, images, stage, pack, sbom, checksums, provenance, publish, shard, merge
}

/// What every step may use: the plan, how to run, and the runner's cache.
struct StepContext: Sendable {
    let plan: ReleasePlan
    let options: ReleaseOptions
    let toolchain: Result<GoToolchain, GoBuildError>
    let processes: any ProcessRunner
    let cache: OutputCache
    let progress: ReleasePipeline.Progress

    var layout: OutputLayout { plan.layout }

    /// The located toolchain's Go version; nil without one (`--skip-build`).
    var goVersion: String? {
        guard case .success(let toolchain) = toolchain else { return nil }
        return toolchain.version
    }
}

/// What the steps of one release produce and hand each other: each field is written by one step
/// (named) and read by the steps after it. What a step is given instead (the source digest, the
/// tracked files, the git source, the scratch directories) is a property of the step.
struct ReleaseDraft: Sendable {
    /// Every image tarball of the plan (images).
    var images: [BuiltImage] = []
    /// `<project>-src.tar.gz`: HEAD's tree read from git; nil without git, then the tracked files
    /// on disk are staged (stage).
    var sourceTree: SourceTree?
    /// Every release archive with its digests (pack).
    var packed: [PackedTarball] = []
    /// The SBOM, which the sums list too (sbom).
    var sbom: SummedFile?
    /// The bytes of SHA256SUMS, what the provenance covers and the signature signs; nil when the
    /// layout has no SHA256SUMS (checksums).
    var sha256sums: Data?
    /// Everything `artifacts.json` lists (checksums).
    var artifacts: [Artifact] = []

    /// The archives, images and the SBOM, as `artifacts.json` lists them, sorted by path.
    func artifacts(of plan: ReleasePlan) -> [Artifact] {
        var artifacts = packed.map { file in
            Artifact(
                name: file.tarball.name, path: "release-tars/\(file.tarball.name)",
                kind: file.tarball.kind,
                os: file.tarball.platform?.os, arch: file.tarball.platform?.arch, size: file.size,
                sha256: file.checksums.sha256.hex)
        }
        for (planned, image) in zip(plan.images, images) {
            artifacts.append(
                Artifact(
                    name: Paths.name(of: image.tarball), path: plan.layout.relative(image.tarball), kind: .image,
                    os: planned.request.platform.os, arch: planned.request.platform.arch, size: image.size,
                    sha256: image.sha256, image: image.repoTags.first))
        }
        // The SBOM, once written (checksums lists it; the SBOM step's own list cannot include it).
        if let sbom {
            artifacts.append(
                Artifact(
                    name: sbom.name, path: "release-tars/\(sbom.name)", kind: .sbom, os: nil, arch: nil,
                    size: sbom.size, sha256: sbom.checksums.sha256.hex))
        }
        return artifacts.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }
}

/// A file of release-tars listed in the sums, with its size and digests.
struct SummedFile: Sendable {
    var name: String
    var size: Int64
    var checksums: Checksums
}

/// A release tarball as written by the pack step.
struct PackedTarball: Sendable {
    var tarball: PlannedArchive
    var size: Int64
    var checksums: Checksums
}
