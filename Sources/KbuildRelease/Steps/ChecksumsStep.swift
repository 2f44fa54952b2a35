import Foundation
import KbuildCore
import KbuildDigest

/// Writes `SHA256SUMS`, `SHA512SUMS`, `<file>.sha256`/`.sha512` for every tarball (in `sha256sum`'s
/// format, sorted by name so the files do not depend on which tarball finished first) and
/// `artifacts.json` listing every tarball and image, into the temporary `release-tars`.
struct ChecksumsStep: ReleaseStep {
    let name = "checksums"

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let directory = draft.tarsRoot
        let packed = draft.packed.sorted { $0.tarball.name.utf8.lexicographicallyPrecedes($1.tarball.name.utf8) }
        for file in packed {
            let name = file.tarball.name
            try FileOutput.writeAtomically(file.checksums.sha256.hex + "\n", to: "\(directory)/\(name).sha256")
            try FileOutput.writeAtomically(file.checksums.sha512.hex + "\n", to: "\(directory)/\(name).sha512")
        }
        for (sums, digest) in [("SHA256SUMS", \Checksums.sha256), ("SHA512SUMS", \Checksums.sha512)] {
            let lines = packed.map { "\($0.checksums[keyPath: digest].hex)  \($0.tarball.name)\n" }
            try FileOutput.writeAtomically(lines.joined(), to: "\(directory)/\(sums)")
        }

        var artifacts = packed.map { file in
            Artifact(
                name: file.tarball.name, path: "release-tars/\(file.tarball.name)", kind: ArtifactKind(file.tarball.kind),
                os: file.tarball.platform?.os, arch: file.tarball.platform?.arch, size: file.size,
                sha256: file.checksums.sha256.hex)
        }
        for (planned, image) in zip(plan.images, draft.images) {
            artifacts.append(
                Artifact(
                    name: Paths.name(of: image.tarball), path: plan.layout.relative(image.tarball), kind: .image,
                    os: planned.request.platform.os, arch: planned.request.platform.arch, size: image.size,
                    sha256: image.sha256, image: image.repoTags.first))
        }
        artifacts.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var json = try encoder.encode(artifacts)
        json.append(UInt8(ascii: "\n"))
        try FileOutput.writeAtomically(json, to: directory + "/artifacts.json")
        draft.artifacts = artifacts
        return .done("\(packed.count) tarballs, \(draft.images.count) images in artifacts.json")
    }
}

extension OutputLayout {
    /// `path` relative to `_output` (as `artifacts.json` lists it).
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
