import Foundation
import KbuildCore

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

    /// A fresh draft with what a run reads of the workspace once, all asked at once: the source digest
    /// (`started` when the command began it early) and, for runs that package, the files git tracks and
    /// the git source the provenance names.
    func draft(_ started: SourceDigest?, packaging: Bool) async throws -> ReleaseDraft {
        let workspace = context.plan.workspace
        let digest = started.flatMap { $0.workspace == workspace ? $0 : nil } ?? SourceDigest.start(workspace)
        async let tracked = packaging ? SourceFiles.tracked(in: workspace, runner: context.processes) : []
        async let source = packaging ? ProvenanceStep.sourceReference(context) : nil
        var draft = ReleaseDraft(sources: try await digest.value())
        draft.tracked = try await tracked
        draft.source = await source
        return draft
    }

    /// Runs one step, timed and reported.
    func run(_ step: any ReleaseStep, _ draft: inout ReleaseDraft) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        context.progress(.stepStarted(step.name.rawValue))
        let outcome = try await step.run(&draft, in: context)
        context.progress(.stepFinished(step.name.rawValue, seconds: Self.seconds(clock.now - start), outcome: outcome))
    }

    /// Runs steps whose outputs (`outputs`) are replaced together, reusing all of them when no input
    /// of any step changed since they were written. The draft's `artifacts` are what is recorded.
    func run(phase: String, _ steps: [any ReleaseStep], outputs: [String], _ draft: inout ReleaseDraft)
        async throws
    {
        var inputs = [draft.sources]
        for step in steps {
            inputs.append(step.name.rawValue)
            inputs += try await step.inputs(&draft, in: context)
        }
        let unit = CacheUnit(step: phase, inputs: inputs, outputs: outputs)
        if let payload = await context.cache.lookup(unit),
            let artifacts = try? JSONDecoder().decode([Artifact].self, from: payload)
        {
            draft.artifacts = artifacts
            for step in steps {
                context.progress(.stepStarted(step.name.rawValue))
                context.progress(
                    .stepFinished(
                        step.name.rawValue, seconds: 0, outcome: .reused("nothing changed since the last release")))
            }
            return
        }
        defer {
            // Scratch directories of a failed run; after a successful one they hold the replaced outputs.
            for scratch in [draft.stageRoot, draft.tarsRoot] where !scratch.isEmpty {
                try? FileManager.default.removeItem(atPath: scratch)
            }
        }
        for step in steps { try await run(step, &draft) }
        await context.cache.record(unit, payload: try JSONEncoder().encode(draft.artifacts))
    }

    /// Temp files of interrupted earlier runs; safe to remove because we hold the lock.
    private static func removeLeftovers(_ plan: ReleasePlan) {
        let layout = plan.layout
        var directories = [layout.root, layout.releaseImages]
        directories += OutputCache.steps.map { layout.cache + "/" + $0 }
        // The members pack stores (one directory per libdeflate version) and Go's platform list.
        let deflate = layout.cache + "/deflate"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: deflate)) ?? []
        directories += versions.sorted().map { deflate + "/" + $0 } + [layout.cache + "/go-platforms"]
        directories += Set(plan.builds.map { layout.binaryDirectory($0.platform) }).sorted()
        directories += Set(plan.images.map(\.request.outputDirectory)).sorted()
        for directory in directories { FileOutput.removeLeftovers(in: directory) }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
