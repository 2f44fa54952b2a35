import KbuildCore
import KbuildGo

/// Executes a `ReleasePlan` as an ordered list of steps (see `Steps/`), each under the `_output` lock:
///
///     build → images → [stage → pack → sbom → checksums → provenance → publish]
///
/// The bracketed steps replace `release-stage` and `release-tars` together and are reused together
/// when nothing they depend on changed. Every public entry point runs through `StepRunner`.
public struct ReleasePipeline: Sendable {
    public let plan: ReleasePlan
    public let options: ReleaseOptions
    /// The Go toolchain, or why there is none (reported by the build step only).
    public let toolchain: Result<GoToolchain, GoBuildError>
    public let runner: any ProcessRunner
    /// The source digest the loader started, if it did; otherwise each run starts its own.
    public let sources: SourceDigest?

    public init(
        plan: ReleasePlan, options: ReleaseOptions, toolchain: Result<GoToolchain, GoBuildError>,
        runner: any ProcessRunner = SubprocessRunner(), sources: SourceDigest? = nil
    ) {
        self.plan = plan
        self.options = options
        self.toolchain = toolchain
        self.runner = runner
        self.sources = sources
    }

    /// The pipeline of a loaded workspace.
    public init(_ loaded: LoadedWorkspace, options: ReleaseOptions) {
        self.init(plan: loaded.plan, options: options, toolchain: loaded.toolchain, sources: loaded.sources)
    }

    public typealias Progress = @Sendable (ReleaseEvent) -> Void

    /// The steps that write `release-stage` and `release-tars`, in order, given what they read of the
    /// workspace and where they write. The release config is read here, once, for the provenance.
    static func packageSteps(_ workspace: WorkspaceRead, scratch: PackageScratch, proof: ProofOptions) throws
        -> [any ReleaseStep]
    {
        [
            StageStep(scratch: scratch, tracked: workspace.tracked), PackStep(scratch: scratch),
            SBOMStep(scratch: scratch), ChecksumsStep(scratch: scratch),
            try ProvenanceStep(scratch: scratch, source: workspace.source, configFile: proof.configFile),
            PublishStep(scratch: scratch),
        ]
    }

    /// The whole release.
    public func release(progress: @escaping Progress = { _ in }) async throws -> [Artifact] {
        try await StepRunner.locked(context(progress)) { runner in
            let workspace = try await runner.readWorkspace(sources)
            var draft = ReleaseDraft()
            if options.skipBuild {
                // Binaries of another build would ship under this release's name: refuse them.
                try StampCheck.verify(plan: plan)
            } else {
                try await runner.run(BuildStep(sources: workspace.sources), &draft)
            }
            try await runner.run(ImagesStep(), &draft)
            return try await package(runner, workspace, &draft)
        }
    }

    /// One shard of a release split across machines (`--shard I/N`): its builds and images, then
    /// `_output/shards/<I>-of-<N>` for the merge job. Returns that directory.
    public func shard(_ spec: ShardSpec, progress: @escaping Progress = { _ in }) async throws -> String {
        let shard = ReleasePipeline(
            plan: plan.sharded(spec), options: options, toolchain: toolchain, runner: runner, sources: sources)
        return try await StepRunner.locked(shard.context(progress)) { runner in
            var draft = ReleaseDraft()
            if !options.skipBuild {
                try await runner.run(BuildStep(sources: try await runner.sources(sources)), &draft)
            }
            try await runner.run(ImagesStep(), &draft)
            try await runner.run(ShardStep(spec: spec, planDigest: plan.digest), &draft)
            return ShardStep.directory(spec, layout: plan.layout)
        }
    }

    /// The release from the shard directories of `kbuild release --shard` (`--merge DIR…`): checked and
    /// placed, images written again (they must equal the shards'), then the package phase, so the
    /// result is byte-identical to a release on one machine.
    public func merge(_ directories: [String], progress: @escaping Progress = { _ in }) async throws -> [Artifact] {
        try await StepRunner.locked(context(progress)) { runner in
            let workspace = try await runner.readWorkspace(sources)
            var draft = ReleaseDraft()
            try await runner.run(MergeStep(directories: directories), &draft)
            let merged = Dictionary(
                uniqueKeysWithValues: try plan.images.map { ($0.tarball, try fileSHA256($0.tarball)) })
            try await runner.run(ImagesStep(), &draft)
            for image in draft.images where merged[image.tarball] != image.sha256 {
                throw ReleaseError.shard(
                    path: plan.relative(image.tarball),
                    problem:
                        "written here as sha256 \(image.sha256), the shard's is \(merged[image.tarball] ?? "missing"); shards and merge need the same kbuild"
                )
            }
            return try await package(runner, workspace, &draft)
        }
    }

    /// Every binary for every platform (`kbuild build`).
    public func build(progress: @escaping Progress = { _ in }) async throws {
        try await StepRunner.locked(context(progress)) { runner in
            var draft = ReleaseDraft()
            try await runner.run(BuildStep(sources: try await runner.sources(sources)), &draft)
        }
    }

    /// Every image tarball (`kbuild images`; needs the binaries).
    public func images(progress: @escaping Progress = { _ in }) async throws -> [BuiltImage] {
        try await StepRunner.locked(context(progress)) { runner in
            // Images depend on the binaries, not on the sources: no source digest needed.
            var draft = ReleaseDraft()
            try await runner.run(ImagesStep(), &draft)
            return draft.images
        }
    }

    /// The package steps as one phase: reused whole when nothing they depend on changed.
    private func package(_ runner: StepRunner, _ workspace: WorkspaceRead, _ draft: inout ReleaseDraft)
        async throws -> [Artifact]
    {
        let scratch = PackageScratch(plan.layout)
        return try await runner.run(
            phase: .package, try Self.packageSteps(workspace, scratch: scratch, proof: options.proof),
            sources: workspace.sources, outputs: packageOutputs, scratch: [scratch.stage, scratch.tars], &draft)
    }

    /// Every file the package phase leaves in `release-tars`.
    var packageOutputs: [String] { PublishStep.outputs(of: plan, signed: options.proof.signingKey != nil) }

    private func context(_ progress: @escaping Progress) -> StepContext {
        var cache = OutputCache(directory: plan.layout.cache)
        cache.remote = options.remoteCache.map { ($0, plan.workspace) }
        return StepContext(
            plan: plan, options: options, toolchain: toolchain, processes: runner, cache: cache, progress: progress)
    }
}
