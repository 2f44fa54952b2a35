import Foundation
import KbuildCore
import KbuildProof

/// Runs release steps: the only place that takes the `_output` lock, cleans what interrupted runs
/// left, consults `OutputCache` for whole phases, and reports progress and timings.
struct StepRunner: Sendable {
    let context: StepContext

    /// Runs `body` holding the lock on `_output`, after removing leftovers of interrupted runs.
    static func locked<T: Sendable>(
        _ context: StepContext, _ body: (StepRunner) async throws -> T
    ) async throws -> T {
        let lock = try OutputLock(path: context.layout.lockFile)
        defer { withExtendedLifetime(lock) {} }
        removeLeftovers(context.plan)
        return try await body(StepRunner(context: context))
    }

    /// The content digest of the workspace's sources (`started` when the command began it early).
    func sources(_ started: SourceDigest?) async throws -> String {
        let workspace = context.plan.workspace
        let digest = started.flatMap { $0.workspace == workspace ? $0 : nil } ?? SourceDigest.start(workspace)
        return try await digest.value()
    }

    /// What a run that packages reads of the workspace once, all asked at once: the source digest,
    /// the files git tracks and the git source the provenance names.
    func readWorkspace(_ started: SourceDigest?) async throws -> WorkspaceRead {
        let plan = context.plan
        async let tracked = SourceFiles.tracked(in: plan.workspace, runner: context.processes)
        async let source = SourceReference.read(plan.version, workspace: plan.workspace, runner: context.processes)
        let sources = try await sources(started)
        return WorkspaceRead(sources: sources, tracked: try await tracked, source: await source)
    }

    /// Runs one step, timed and reported.
    func run(_ step: any ReleaseStep, _ draft: inout ReleaseDraft) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        context.progress(.stepStarted(step.name))
        let outcome = try await step.run(&draft, in: context)
        context.progress(.stepFinished(step.name, seconds: Self.seconds(clock.now - start), outcome: outcome))
    }

    /// Runs steps whose outputs (`outputs`) are replaced together, reusing all of them when no input
    /// of any step changed since they were written; `scratch` is removed afterwards whatever happened
    /// (after a success it holds the replaced outputs). Returns the artifacts, as recorded when reused.
    func run(
        phase: CacheStep, _ steps: [any ReleaseStep], sources: String, outputs: [String], scratch: [String],
        _ draft: inout ReleaseDraft
    ) async throws -> [Artifact] {
        let unit = try await unit(phase: phase, steps, sources: sources, outputs: outputs, draft)
        // A record that does not decode is a miss, like any other: the phase runs again.
        if let payload = await context.cache.lookup(unit),
            let artifacts = try? JSONDecoder().decode([Artifact].self, from: payload)
        {
            for step in steps {
                context.progress(.stepStarted(step.name))
                context.progress(.stepFinished(step.name, seconds: 0, outcome: .reused))
            }
            return artifacts
        }
        defer {
            for directory in scratch { try? FileManager.default.removeItem(atPath: directory) }
        }
        for step in steps { try await run(step, &draft) }
        await context.cache.record(unit, payload: try JSONEncoder().encode(draft.artifacts))
        return draft.artifacts
    }

    /// The cache unit of a phase: the source digest and every step's inputs, keyed together.
    func unit(
        phase: CacheStep, _ steps: [any ReleaseStep], sources: String, outputs: [String], _ draft: ReleaseDraft
    ) async throws -> CacheUnit {
        var inputs = PhaseInputs(sources: sources)
        for step in steps { inputs.steps.append((step.name, try await step.inputs(draft, in: context))) }
        return try CacheUnit(step: phase, inputs: inputs, outputs: outputs)
    }

    /// Temp files of interrupted earlier runs; safe to remove because we hold the lock.
    private static func removeLeftovers(_ plan: ReleasePlan) {
        let layout = plan.layout
        var directories = [layout.root, layout.releaseImages]
        directories += CacheStep.allCases.map { layout.cache + "/" + $0.rawValue }
        // The members pack stores (one directory per libdeflate version).
        let deflate = layout.cache + "/deflate"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: deflate)) ?? []
        directories += versions.sorted().map { deflate + "/" + $0 }
        directories += Set(plan.builds.map { layout.binaryDirectory($0.platform) }).sorted()
        directories += Set(plan.images.map(\.request.outputDirectory)).sorted()
        for directory in directories { FileOutput.removeLeftovers(in: directory) }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The key value of a phase: the source digest and every step's `Inputs` under the step's name.
struct PhaseInputs: Encodable {
    var sources: String
    var steps: [(name: StepName, inputs: any Encodable & Sendable)] = []

    private enum Keys: String, CodingKey { case sources, steps }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(sources, forKey: .sources)
        var byStep = container.nestedContainer(keyedBy: StepName.self, forKey: .steps)
        for (name, inputs) in steps { try byStep.encode(inputs, forKey: name) }
    }
}
