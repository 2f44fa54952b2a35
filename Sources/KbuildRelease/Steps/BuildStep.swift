import KbuildCore
import KbuildGo

/// Builds every binary × platform of the plan into `_output/local/bin`, reusing each binary whose
/// inputs (sources, toolchain, flags, target) did not change since it was built.
struct BuildStep: ReleaseStep {
    let name = StepName.build
    /// The content digest of the workspace's sources.
    let sources: String

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let toolchain = try context.toolchain.get()
        var settings = GoBuildSettings(
            workspace: plan.workspace, goState: plan.layout.goState,
            ldflags: plan.versionLDFlags + plan.config.go.ldflags, modMode: plan.config.go.mod,
            tags: plan.config.go.tags, requiredGoVersion: plan.config.go.version, sandbox: context.options.sandbox,
            jobs: context.options.jobs, goCache: context.options.goCache, cgo: plan.config.cgo)
        settings.countsPackages = context.options.reportsProgress
        var pending: [(GoBuildTarget, CacheUnit)] = []
        for target in plan.builds {
            let unit = try Self.unit(
                target, output: plan.relative(target.output), sources: sources, toolchain: toolchain,
                settings: settings)
            if await context.cache.lookup(unit) != nil {
                context.progress(.buildReused(target))
            } else {
                pending.append((target, unit))
            }
        }
        let reused = plan.builds.count - pending.count
        guard !pending.isEmpty else { return .built(count: 0, upToDate: reused, sandbox: nil) }
        let builder = GoBuilder(toolchain: toolchain, settings: settings, runner: context.processes)
        let report = try await builder.build(pending.map(\.0)) { context.progress(.build($0)) }
        for (_, unit) in pending { await context.cache.record(unit) }
        return .built(count: pending.count, upToDate: reused, sandbox: report.sandbox)
    }

    /// What one binary's bytes depend on: the sources, the toolchain and how it is built (the sandbox,
    /// the job count and the Go cache do not change them). `output` is workspace-relative, so a clone
    /// elsewhere computes the same key (the shared remote cache).
    struct BinaryInputs: Encodable, Sendable, Equatable {
        var sources: String
        var goVersion: String
        var goroot: String
        var ldflags: [String]
        var mod: GoModMode
        var tags: [String]
        var requiredGoVersion: String?
        var binary: String
        var package: String
        var platform: Platform
        var output: String
        /// The cgo variables of the platform; nil for a static binary (built with CGO_ENABLED=0).
        var cgo: [String: String]?
    }

    static func unit(
        _ target: GoBuildTarget, output: String, sources: String, toolchain: GoToolchain, settings: GoBuildSettings
    ) throws -> CacheUnit {
        let inputs = BinaryInputs(
            sources: sources, goVersion: toolchain.version, goroot: toolchain.goroot, ldflags: settings.ldflags,
            mod: settings.modMode, tags: settings.tags, requiredGoVersion: settings.requiredGoVersion,
            binary: target.binary, package: target.package, platform: target.platform, output: output,
            cgo: target.isStatic ? nil : settings.cgo[target.platform] ?? [:])
        return try CacheUnit(step: .build, inputs: inputs, outputs: [target.output])
    }
}
