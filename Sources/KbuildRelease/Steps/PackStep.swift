import Foundation
import KbuildArchive
import KbuildArtifact
import KbuildCore
import KbuildDigest

/// Packs every archive of the plan from its stage directory into the temporary `release-tars`,
/// hashing each (sha256 and sha512) as it is written. Archives that others carry (Kubernetes' src and
/// manifests) are packed first, then linked into the stages of the archives whose entries name them.
struct PackStep: ReleaseStep {
    let name = StepName.pack
    let scratch: PackageScratch

    /// The gzip level, library and block layout: the bytes of an archive depend on them.
    struct Inputs: Encodable, Sendable {
        var compressionLevel: Int
        var gzipLibrary: String
        var gzipBlocks: String
    }

    func inputs(_ draft: ReleaseDraft, in context: StepContext) async throws -> Inputs {
        Inputs(
            compressionLevel: context.options.compressionLevel, gzipLibrary: TarOptions.Compression.fastGzipLibrary,
            gzipBlocks: TarOptions.Compression.fastGzipBlocks)
    }

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let (stageRoot, tarsRoot, sourceTree) = (scratch.stage, scratch.tars, draft.sourceTree)
        // Parallel libdeflate gzip members: standard gzip, same bytes whatever the thread count.
        // One pool for every tarball of this release, so concurrent tarballs share the cores, and one
        // cache, so a binary that several tarballs carry is deflated once (and not again next run).
        let cache = DeflateCache(directory: context.layout.cache + "/deflate")
        let pool = DeflatePool(threads: ProcessInfo.processInfo.activeProcessorCount, cache: cache)
        defer { pool.shutdown() }
        let level = context.options.compressionLevel
        let options = TarOptions(compression: .fastGzip(level: level, pool: pool), mtime: plan.sourceDate)
        let zip = ZipOptions(mtime: plan.sourceDate, level: level, pool: pool)
        let layout = plan.layout
        let progress = ItemProgress(
            .pack, subject: "release-tars", total: plan.archives.count, report: context.progress)
        defer { progress.finish() }
        let pack: @Sendable (PlannedArchive) async throws -> PackedTarball = { archive in
            let path = tarsRoot + "/" + archive.name
            progress.started(archive.name)
            let stage = stageRoot + "/" + archive.stageDirectory
            let written = try await Blocking.run { () throws -> (size: Int64, checksums: Checksums) in
                switch archive.format {
                case .binary:
                    return try Self.copyAsset(archive, to: path, layout: layout)
                case .zip:
                    let written = try Zip.write(try TarEntry.tree(of: stage, under: ""), to: path, options: zip)
                    return (written.size, try written.digests.checksums(of: path))
                case .tarGz:
                    let entries =
                        if let sourceTree, let version = archive.gitTreeAddition {
                            sourceTree.entries(adding: version, from: "\(stage)/\(version)")
                        } else {
                            try TarEntry.tree(of: stage, under: "")
                        }
                    let written = try Tarball.write(entries, to: path, options: options)
                    return (written.size, try written.digests.checksums(of: path))
                }
            }
            progress.finished(archive.name)
            context.progress(.tarball(name: archive.name, size: written.size))
            return PackedTarball(tarball: archive, size: written.size, checksums: written.checksums)
        }
        // Archives others carry are packed first, then linked into the stages of those that carry them.
        let nestedNames = Set(plan.archives.flatMap(\.nestedArchives))
        let nested = plan.archives.filter { nestedNames.contains($0.name) }
        let outer = plan.archives.filter { !nestedNames.contains($0.name) }
        var packed = try await concurrentMap(nested, limit: context.options.jobs, pack)
        try stageNested(plan: plan, stager: Stager(root: stageRoot), tarsRoot: tarsRoot)
        packed += try await concurrentMap(outer, limit: context.options.jobs, pack)
        draft.packed = packed
        // Room for this release's members and about one earlier release's.
        let keep = max(2 * packed.reduce(0) { $0 + $1.size }, DeflateCache.minimumDiskBytes)
        try await Blocking.run { cache.prune(maxBytes: keep) }
        return .packed(archives: packed.count)
    }

    /// A binary asset: the built binary's bytes under the asset's name, hashed.
    private static func copyAsset(_ archive: PlannedArchive, to path: String, layout: OutputLayout) throws
        -> (size: Int64, checksums: Checksums)
    {
        guard let (name, platform) = archive.builtBinaries.first else {
            throw ReleaseError.missingInput(path: archive.name, what: "the binary of this asset")
        }
        let source = layout.binary(name, platform)
        try Stager(root: Paths.parent(of: path)).place(source, at: Paths.name(of: path))
        do {
            let checksums = try Checksums.file(path)
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64 ?? 0
            return (size, checksums)
        } catch {
            throw ReleaseError.io(path: path, reason: "cannot hash: \(error)")
        }
    }

    /// Links the packed nested archives (Kubernetes' src and manifests) where the plan's entries put them.
    private func stageNested(plan: ReleasePlan, stager: Stager, tarsRoot: String) throws {
        for archive in plan.archives {
            for entry in archive.entries {
                guard case .archive(let name) = entry.source else { continue }
                try stager.place("\(tarsRoot)/\(name)", at: "\(archive.stageDirectory)/\(entry.path)")
            }
        }
    }
}

extension PlannedArchive {
    /// For the archive of git's tree: the generated file packed beside the tree (`.kube-git-version`).
    var gitTreeAddition: String? {
        guard entries.contains(where: { $0.source == .gitTree }) else { return nil }
        return entries.first { if case .generated = $0.source { true } else { false } }?.path
    }
}
