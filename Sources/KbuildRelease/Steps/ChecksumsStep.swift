import Foundation
import KbuildCore
import KbuildDigest
import KbuildProof

/// Writes `SHA256SUMS`, `SHA512SUMS`, `<file>.sha256`/`.sha512` for every tarball and the SBOM (in
/// `sha256sum`'s format, sorted by name so the files do not depend on which tarball finished first)
/// and `artifacts.json` listing every tarball and image, into the temporary `release-tars`.
struct ChecksumsStep: ReleaseStep {
    let name = "checksums"

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let directory = draft.tarsRoot
        let summed = draft.packed.map { SummedFile(name: $0.tarball.name, checksums: $0.checksums) } + draft.documents
        for file in summed {
            try FileOutput.writeAtomically(file.checksums.sha256.hex + "\n", to: "\(directory)/\(file.name).sha256")
            try FileOutput.writeAtomically(file.checksums.sha512.hex + "\n", to: "\(directory)/\(file.name).sha512")
        }
        for (sums, digest) in [("SHA256SUMS", \Checksums.sha256), ("SHA512SUMS", \Checksums.sha512)] {
            let text = ChecksumLine.render(
                summed.map { ChecksumLine(digest: $0.checksums[keyPath: digest].hex, name: $0.name) })
            try FileOutput.writeAtomically(text, to: "\(directory)/\(sums)")
            if sums == "SHA256SUMS" { draft.sha256sums = Data(text.utf8) }
        }
        let artifacts = draft.artifacts(of: context.plan)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var json = try encoder.encode(artifacts)
        json.append(UInt8(ascii: "\n"))
        try FileOutput.writeAtomically(json, to: directory + "/artifacts.json")
        draft.artifacts = artifacts
        return .done("\(summed.count) files in the sums, \(draft.images.count) images in artifacts.json")
    }
}

extension OutputLayout {
    /// `path` relative to `_output` (as `artifacts.json` lists it).
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
