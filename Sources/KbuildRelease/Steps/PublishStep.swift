import KbuildCore
import KbuildProof

/// Swaps the finished `release-stage` and `release-tars` into place, each whole (`renameat2`
/// exchange where the kernel has it): a reader sees the previous release or the new one, never a mix.
struct PublishStep: ReleaseStep {
    let name = StepName.publish
    let scratch: PackageScratch

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let layout = context.layout
        try FileOutput.replaceDirectory(layout.releaseStage, with: scratch.stage)
        try FileOutput.replaceDirectory(layout.releaseTars, with: scratch.tars)
        return .published(directory: layout.releaseTars)
    }

    /// Every file the package steps leave in `release-tars`: what a reused release must still find unchanged.
    static func outputs(of plan: ReleasePlan, signed: Bool) -> [String] {
        let names = plan.archives.map(\.name) + plan.sideFiles.filter { signed || !$0.signedOnly }.map(\.name)
        return names.map { plan.layout.releaseTars + "/" + $0 }
    }
}
