import Foundation
import KbuildArchive
import KbuildCore

/// Packs every tarball of the plan from its stage directory into the temporary `release-tars`,
/// hashing each (sha256 and sha512) as it is written. The src and manifests tarballs nest inside
/// others: they are packed first, then linked into the stages that carry them.
struct PackStep: ReleaseStep {
    let name = "pack"

    /// The gzip level and library: the bytes of a tarball depend on both.
    func inputs(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> [String] {
        [String(context.options.compressionLevel), TarOptions.Compression.fastGzipLibrary]
    }

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let (stageRoot, tarsRoot, sourceTree) = (draft.stageRoot, draft.tarsRoot, draft.sourceTree)
        // Parallel libdeflate gzip members: standard gzip, same bytes whatever the thread count.
        // One pool for every tarball of this release, so concurrent tarballs share the cores.
        let pool = DeflatePool(threads: ProcessInfo.processInfo.activeProcessorCount)
        defer { pool.shutdown() }
        let options = TarOptions(
            compression: .fastGzip(level: context.options.compressionLevel, pool: pool), mtime: plan.sourceDate)
        let progress = ItemProgress(
            .pack, subject: "release-tars", total: plan.tarballs.count, report: context.progress)
        defer { progress.finish() }
        let pack: @Sendable (ReleasePlan.PlannedTarball) async throws -> PackedTarball = { tarball in
            let path = tarsRoot + "/" + tarball.name
            progress.started(tarball.name)
            let written = try await Blocking.run {
                let entries =
                    if tarball.kind == .src, let sourceTree {
                        sourceTree.entries(
                            adding: ReleasePlan.sourceVersionFile,
                            from: "\(stageRoot)/src/\(ReleasePlan.sourceVersionFile)")
                    } else {
                        try TarEntry.tree(of: stageRoot + "/" + plan.stageDirectory(tarball), under: "")
                    }
                return try Tarball.write(entries, to: path, options: options)
            }
            progress.finished(tarball.name)
            context.progress(.tarball(name: tarball.name, size: written.size))
            return PackedTarball(
                tarball: tarball, size: written.size, checksums: try written.digests.checksums(of: path))
        }
        let nested = plan.tarballs.filter(\.kind.isNested)
        let outer = plan.tarballs.filter { !$0.kind.isNested }
        var packed = try await concurrentMap(nested, limit: context.options.jobs, pack)
        try stageNested(plan: plan, stager: Stager(root: stageRoot), tarsRoot: tarsRoot)
        packed += try await concurrentMap(outer, limit: context.options.jobs, pack)
        draft.packed = packed
        return .done("\(packed.count) tarballs")
    }

    /// Links the packed src and manifests tarballs into the server and full stages.
    private func stageNested(plan: ReleasePlan, stager: Stager, tarsRoot: String) throws {
        let project = plan.project
        for tarball in plan.tarballs {
            let dir = plan.stageDirectory(tarball)
            switch tarball.kind {
            case .server:
                try stager.place("\(tarsRoot)/\(project)-src.tar.gz", at: "\(dir)/\(project)/\(project)-src.tar.gz")
            case .full:
                try stager.place(
                    "\(tarsRoot)/\(project)-manifests.tar.gz",
                    at: "\(dir)/\(project)/server/\(project)-manifests.tar.gz")
            default:
                continue
            }
        }
    }
}

extension ReleasePlan.TarballKind {
    /// Packed first because other tarballs carry them: src (in server) and manifests (in full).
    var isNested: Bool { self == .src || self == .manifests }
}
