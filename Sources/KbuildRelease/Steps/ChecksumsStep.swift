import Foundation
import KbuildArtifact
import KbuildCore
import KbuildDigest
import KbuildProof

/// Writes the plan's digest and sums side files (Kubernetes': `SHA256SUMS`, `SHA512SUMS`,
/// `<file>.sha256`/`.sha512` for every tarball and the SBOM; sums in `sha256sum`'s format, sorted by
/// name so the files do not depend on which archive finished first) and `artifacts.json` listing every
/// archive and image, into the temporary `release-tars`.
struct ChecksumsStep: ReleaseStep {
    let name = StepName.checksums
    let scratch: PackageScratch

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let directory = scratch.tars
        let summed =
            draft.packed.map { SummedFile(name: $0.tarball.name, size: $0.size, checksums: $0.checksums) }
            + (draft.sbom.map { [$0] } ?? [])
        let byName = Dictionary(summed.map { ($0.name, $0.checksums) }, uniquingKeysWith: { first, _ in first })
        for side in context.plan.sideFiles {
            let digest = side.algorithm == "sha512" ? \Checksums.sha512 : \Checksums.sha256
            switch side.kind {
            case .digest, .digestLine:
                guard let of = side.of, let checksums = byName[of] else { continue }
                let hex = checksums[keyPath: digest].hex
                let text =
                    side.kind == .digest ? hex + "\n" : ChecksumLine.render([ChecksumLine(digest: hex, name: of)])
                try FileOutput.writeAtomically(text, to: "\(directory)/\(side.name)")
            case .sums:
                let text = ChecksumLine.render(
                    summed.map { ChecksumLine(digest: $0.checksums[keyPath: digest].hex, name: $0.name) })
                try FileOutput.writeAtomically(text, to: "\(directory)/\(side.name)")
                if side.algorithm == "sha256" { draft.sha256sums = Data(text.utf8) }
            default:
                continue
            }
        }
        let artifacts = draft.artifacts(of: context.plan)
        try FileOutput.writeAtomically(try CanonicalJSON.encode(artifacts), to: directory + "/artifacts.json")
        draft.artifacts = artifacts
        return .summed(files: summed.count, images: draft.images.count)
    }
}

extension OutputLayout {
    /// `path` relative to `_output` (as `artifacts.json` lists it).
    func relative(_ path: String) -> String {
        Paths.inside(path, root) ?? path
    }
}
