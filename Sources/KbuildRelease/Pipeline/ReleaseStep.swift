import Foundation
import KbuildArchive
import KbuildArtifact
import KbuildCore
import KbuildDigest
import KbuildGo
import KbuildProof

/// One step of a release, in a file of its own under `Steps/`.
///
/// A step reads what earlier steps left in the draft, does its work, adds what it produced, and says
/// what it did. Steps never take the lock: `StepRunner` does, and keys each phase's outputs in
/// `OutputCache`. Steps with many independent items (`BuildStep` per platform, `ImagesStep` per image)
/// also cache per item, so one changed binary rebuilds and rewraps only itself.
protocol ReleaseStep: Sendable {
    /// The name in progress lines and cache keys.
    var name: StepName { get }

    /// Everything this step's outputs depend on beyond the draft's source digest, as stable text.
    /// The runner folds it into the cache key of the phase the step runs in. A step may keep in the
    /// draft what it read to say this, so that `run` need not read it again.
    func inputs(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> [String]

    /// Does the work; the runner holds the `_output` lock.
    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome
}

extension ReleaseStep {
    func inputs(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> [String] { [] }
}

/// The steps of a release, in the order they run (shard and merge: the two halves of a sharded one).
enum StepName: String, Sendable, CaseIterable {
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
}

/// What the steps of one release hand each other. Each field is written by one step (named) and read
/// by the steps after it; nothing else is shared.
struct ReleaseDraft: Sendable {
    /// The content digest of the workspace's sources (the runner, once per run).
    var sources: String
    /// Every image tarball of the plan (images).
    var images: [BuiltImage] = []
    /// The files git tracks (`git ls-files`), for the stage step's key (the runner, for runs that package).
    var tracked: [String] = []
    /// `<project>-src.tar.gz`: HEAD's tree read from git; nil without git, then the tracked files
    /// on disk are staged (stage).
    var sourceTree: SourceTree?
    /// Temporary siblings of `release-stage` and `release-tars`, swapped in whole at the end (stage).
    var stageRoot: String = ""
    var tarsRoot: String = ""
    /// Every release tarball with its digests (pack).
    var packed: [PackedTarball] = []
    /// Documents about the tarballs that the sums list too: the SBOM (sbom).
    var documents: [SummedFile] = []
    /// The bytes of SHA256SUMS, what the provenance covers and the signature signs (checksums).
    var sha256sums = Data()
    /// Everything `artifacts.json` lists (checksums).
    var artifacts: [Artifact] = []
    /// The git remote, ref and commit the provenance names (the runner, for runs that package).
    var source: SourceReference?

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
        for document in documents {
            artifacts.append(
                Artifact(
                    name: document.name, path: "release-tars/\(document.name)", kind: .sbom, os: nil, arch: nil,
                    size: document.size, sha256: document.checksums.sha256.hex))
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
