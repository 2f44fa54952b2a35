import Foundation
import KbuildArchive
import KbuildArtifact
import KbuildCore

/// Packs every archive of the plan from its stage directory into the temporary `release-tars`,
/// hashing each (sha256 and sha512) as it is written. Archives that others carry (Kubernetes' src and
/// manifests) are packed first, then linked into the stages of the archives whose entries name them.
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
        let pack: @Sendable (PlannedArchive) async throws -> PackedTarball = { archive in
            let path = tarsRoot + "/" + archive.name
            let stage = stageRoot + "/" + archive.stageDirectory
            let written = try await Blocking.run {
                let entries =
                    if let sourceTree, let version = archive.gitTreeAddition {
                        sourceTree.entries(adding: version, from: "\(stage)/\(version)")
                    } else {
                        try TarEntry.tree(of: stage, under: "")
                    }
                return try Tarball.write(entries, to: path, options: options)
            }
            context.progress(.tarball(name: archive.name, size: written.size))
            return PackedTarball(
                tarball: archive, size: written.size, checksums: try written.digests.checksums(of: path))
        }
        // Archives others carry are packed first, then linked into the stages of those that carry them.
        let nestedNames = Set(plan.archives.flatMap(\.nestedArchives))
        let nested = plan.archives.filter { nestedNames.contains($0.name) }
        let outer = plan.archives.filter { !nestedNames.contains($0.name) }
        var packed = try await concurrentMap(nested, limit: context.options.jobs, pack)
        try stageNested(plan: plan, stager: Stager(root: stageRoot), tarsRoot: tarsRoot)
        packed += try await concurrentMap(outer, limit: context.options.jobs, pack)
        draft.packed = packed
        return .done("\(packed.count) tarballs")
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
