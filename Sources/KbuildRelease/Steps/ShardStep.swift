import Foundation
import KbuildCore
import KbuildDigest

/// Writes `_output/shards/<I>-of-<N>/`: this shard's binaries (`bin/<os>/<arch>/<bin>`), image
/// tarballs and tags (`images/<arch>/…`) and `shard.json` naming the plan, version, commit, config,
/// Go and each output's sha256, replaced whole. A merge job takes these directories.
struct ShardStep: ReleaseStep {
    let name = StepName.shard
    let spec: ShardSpec
    /// `ReleasePlan.digest` of the whole release (the context's plan is this shard's slice).
    let planDigest: String

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let target = Self.directory(spec, layout: context.layout)
        let scratch = FileOutput.temporarySibling(of: target)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let stager = Stager(root: scratch)
        try stager.makeDirectory(scratch)
        let placed = Self.outputs(of: plan)
        try requireFiles(placed.map(\.source))
        let outputs = try await concurrentMap(placed, limit: context.options.jobs) { item in
            try stager.place(item.source, at: item.relative)
            return ShardManifest.Output(path: item.relative, sha256: try fileSHA256(item.source))
        }
        let manifest = ShardManifest(
            index: spec.index, count: spec.count, plan: planDigest, version: plan.version.version,
            commit: plan.version.commit, config: try Self.configDigest(context),
            go: try context.toolchain.get().version,
            outputs: outputs.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) })
        try FileOutput.writeAtomically(try CanonicalJSON.encode(manifest), to: scratch + "/" + ShardManifest.fileName)
        try FileManager.default.createDirectory(atPath: Paths.parent(of: target), withIntermediateDirectories: true)
        try FileOutput.replaceDirectory(target, with: scratch)
        return .sharded(directory: target, binaries: plan.builds.count, images: plan.images.count)
    }

    /// `_output/shards/<I>-of-<N>`.
    static func directory(_ spec: ShardSpec, layout: OutputLayout) -> String {
        layout.root + "/shards/" + spec.directoryName
    }

    /// What a shard of `plan` carries: each output's path inside the shard (`bin/<os>/<arch>/<file>`,
    /// `images/<arch>/<file>`) and its place under `_output`. Shard writes this list; merge expects it.
    static func outputs(of plan: ReleasePlan) -> [(relative: String, source: String)] {
        var outputs = plan.builds.map { build in
            ("bin/\(build.platform.os)/\(build.platform.arch)/\(Paths.name(of: build.output))", build.output)
        }
        for image in plan.images {
            let arch = image.request.platform.arch
            outputs.append(("images/\(arch)/\(Paths.name(of: image.tarball))", image.tarball))
            outputs.append(("images/\(arch)/\(Paths.name(of: image.tagFile))", image.tagFile))
        }
        return outputs
    }

    /// sha256 of the config file, or empty when the release was given none.
    static func configDigest(_ context: StepContext) throws(ReleaseError) -> String {
        guard let file = context.options.proof.configFile else { return "" }
        return try fileSHA256(file)
    }

}
