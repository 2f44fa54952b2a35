import KbuildCore

/// Swaps the finished `release-stage` and `release-tars` into place, each whole (`renameat2`
/// exchange where the kernel has it): a reader sees the previous release or the new one, never a mix.
struct PublishStep: ReleaseStep {
    let name = "publish"

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let layout = context.layout
        try FileOutput.replaceDirectory(layout.releaseStage, with: draft.stageRoot)
        try FileOutput.replaceDirectory(layout.releaseTars, with: draft.tarsRoot)
        return .done(layout.releaseTars)
    }

    /// Every file the package steps leave in `release-tars`: what a reused release must still find unchanged.
    static func outputs(of plan: ReleasePlan) -> [String] {
        let names = plan.tarballs.flatMap { [$0.name, $0.name + ".sha256", $0.name + ".sha512"] }
            + ["SHA256SUMS", "SHA512SUMS", "artifacts.json"]
        return names.map { plan.layout.releaseTars + "/" + $0 }
    }
}
