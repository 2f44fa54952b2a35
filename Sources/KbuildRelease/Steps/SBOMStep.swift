import Foundation
import KbuildCore
import KbuildDigest
import KbuildProof

/// Writes `<project>.spdx.json` (SPDX 2.3: every tarball, image and Go binary with the modules it
/// is built from) into the temporary `release-tars`, for the checksums step to list.
struct SBOMStep: ReleaseStep {
    let name = StepName.sbom
    let scratch: PackageScratch

    /// The kbuild version (the document's creator) and every binary it describes, by path (a rebuilt
    /// binary gets a new signature; some ship in no archive). The license files and the archives are
    /// covered by the source digest and the earlier steps' inputs.
    struct Inputs: Encodable, Sendable {
        var toolVersion: String
        var binaries: [String: FileSignature]
    }

    func inputs(_ draft: ReleaseDraft, in context: StepContext) async throws -> Inputs {
        let outputs = context.plan.builds.map(\.output)
        try requireFiles(outputs)
        return Inputs(
            toolVersion: context.options.proof.toolVersion,
            binaries: Dictionary(
                outputs.compactMap { path in FileSignature.ofOutput(path).map { (path, $0) } },
                uniquingKeysWith: { first, _ in first }))
    }

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let binaries = try await concurrentMap(plan.builds, limit: context.options.jobs) { target in
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: target.output), options: .alwaysMapped) else {
                throw ReleaseError.missingBuildOutput(path: target.output)
            }
            return SBOMBinary(
                name: target.binary, platform: target.platform, sha256: Digest.of(data, .sha256).hex,
                buildInfo: GoBuildInfo.read(binary: data))
        }
        let sbom = SBOM.document(
            SBOMInput(
                project: plan.project, version: plan.version.version, sourceDate: plan.sourceDate,
                toolVersion: context.options.proof.toolVersion, license: projectLicense(plan),
                moduleLicenses: vendoredLicenses(binaries, plan: plan),
                artifacts: sbomArtifacts(draft.artifacts(of: plan), plan: plan), binaries: binaries))
        let name = SBOM.fileName(project: plan.project)
        try FileOutput.writeAtomically(sbom, to: "\(scratch.tars)/\(name)")
        draft.sbom = SummedFile(
            name: name, size: Int64(sbom.count),
            checksums: Checksums(sha256: Digest.of(sbom, .sha256), sha512: Digest.of(sbom, .sha512)))
        return .wroteSBOM(file: name, binaries: binaries.count)
    }

    /// The artifacts with what each packs, as the plan's entries say: binaries, images, nested archives.
    private func sbomArtifacts(_ artifacts: [Artifact], plan: ReleasePlan) -> [SBOMArtifact] {
        let archives = Dictionary(plan.archives.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return artifacts.map { artifact in
            var item = SBOMArtifact(
                name: artifact.name, path: artifact.path, kind: artifact.kind,
                platform: artifact.os.flatMap { os in artifact.arch.map { Platform(os: os, arch: $0) } },
                sha256: artifact.sha256, image: artifact.image)
            if artifact.kind == .image, let platform = item.platform {
                let binary = artifact.name.hasSuffix(".tar") ? String(artifact.name.dropLast(4)) : artifact.name
                item.containsBinaries = ["\(platform.os)/\(platform.arch)/\(binary)"]
            }
            for entry in archives[artifact.name]?.entries ?? [] {
                switch entry.source {
                case .binary(let name, let platform):
                    item.containsBinaries.append("\(platform.os)/\(platform.arch)/\(name)")
                case .image(let name, let arch):
                    item.containsArtifacts.append(
                        plan.layout.relative(plan.layout.imageDirectory(arch: arch) + "/\(name).tar"))
                case .archive(let name):
                    item.containsArtifacts.append("release-tars/\(name)")
                default:
                    continue
                }
            }
            return item
        }
    }

    /// The SPDX id of the workspace's LICENSE/LICENSES file, when it names one.
    private func projectLicense(_ plan: ReleasePlan) -> String? {
        for name in ["LICENSES", "LICENSE", "LICENSE.txt", "COPYING"] {
            let path = plan.workspace + "/" + name
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return LicenseText.identify(text) }
        }
        return nil
    }

    /// Licenses of vendored modules (`vendor/<module>/LICENSE`); modules outside vendor/ stay NOASSERTION.
    private func vendoredLicenses(_ binaries: [SBOMBinary], plan: ReleasePlan) -> [String: String] {
        var licenses: [String: String] = [:]
        for module in Set(binaries.flatMap { $0.buildInfo?.dependencies ?? [] }.map(\.path)) {
            for name in ["LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING"] {
                let path = "\(plan.workspace)/vendor/\(module)/\(name)"
                if let text = try? String(contentsOfFile: path, encoding: .utf8), let id = LicenseText.identify(text) {
                    licenses[module] = id
                    break
                }
            }
        }
        return licenses
    }
}
