import Foundation
import KbuildArchive
import KbuildCore

/// Packs every tarball of the plan from its stage directory into the temporary `release-tars`,
/// hashing each (sha256 and sha512) as it is written. The src and manifests tarballs nest inside
/// others: they are packed first, then linked into the stages that carry them.
struct PackStep: ReleaseStep {
    let name = "pack"

    /// The gzip level, library and block layout: the bytes of a tarball depend on them.
    func inputs(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> [String] {
        [
            String(context.options.compressionLevel), TarOptions.Compression.fastGzipLibrary,
            TarOptions.Compression.fastGzipBlocks,
        ]
    }

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let (stageRoot, tarsRoot, sourceTree) = (draft.stageRoot, draft.tarsRoot, draft.sourceTree)
        // Parallel libdeflate gzip members: standard gzip, same bytes whatever the thread count.
        // One pool for every tarball of this release, so concurrent tarballs share the cores, and one
        // cache, so a binary that several tarballs carry is deflated once (and not again next run).
        let cache = DeflateCache(directory: context.layout.cache + "/deflate")
        let pool = DeflatePool(threads: ProcessInfo.processInfo.activeProcessorCount, cache: cache)
        defer { pool.shutdown() }
        let options = TarOptions(
            compression: .fastGzip(level: context.options.compressionLevel, pool: pool), mtime: plan.sourceDate)
        let pack: @Sendable (ReleasePlan.PlannedTarball) async throws -> PackedTarball = { tarball in
            let path = tarsRoot + "/" + tarball.name
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
        // Room for this release's members and about one earlier release's.
        let keep = max(2 * packed.reduce(0) { $0 + $1.size }, DeflateCache.minimumDiskBytes)
        try await Blocking.run { cache.prune(maxBytes: keep) }
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
