import Foundation
import KbuildCore
import KbuildImage

/// Writes every image tarball of the plan (`_output/release-images/<arch>/<bin>.tar` and
/// `.docker_tag`), reusing each whose binary, base image and naming did not change.
struct ImagesStep: ReleaseStep {
    let name = StepName.images

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        guard !plan.images.isEmpty else { return .skipped(.noImageBinaries) }
        try requireFiles(plan.images.map(\.request.binaryPath))
        let basePath = plan.config.images.base.map { Paths.absolute($0, relativeTo: plan.workspace) }
        let base = try basePath.map { path in
            guard let signature = FileSignature.ofOutput(path) else {
                throw ReleaseError.missingInput(path: path, what: "base image (images.base in the release config)")
            }
            return ImageInputs.BaseFile(path: path, file: signature)
        }
        var results: [BuiltImage?] = []
        var pending: [(index: Int, unit: CacheUnit)] = []
        for (index, image) in plan.images.enumerated() {
            let unit = try Self.unit(image, base: base)
            if let payload = await context.cache.lookup(unit),
                let built = try? JSONDecoder().decode(BuiltImage.self, from: payload)
            {
                results.append(built)
                context.progress(.image(built, reused: true))
            } else {
                results.append(nil)
                pending.append((index, unit))
            }
        }
        if !pending.isEmpty {
            let scratch = plan.layout.root + "/.images.kbuild-tmp-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let writer = ImageWriter(base: try basePath.map { try BaseImage.load(path: $0, scratch: scratch) })
            let images = plan.images
            // Large binaries take seconds each to digest and wrap: the display shows which are under way.
            let progress = ItemProgress(
                .image, subject: "release-images", total: pending.count, report: context.progress)
            defer { progress.finish() }
            let written = try await concurrentMap(pending, limit: context.options.jobs) { item in
                let request = images[item.index].request
                let name = "\(request.binary) \(request.platform)"
                progress.started(name)
                let result = try await Blocking.run { try writer.write(request) }
                progress.finished(name)
                let built = BuiltImage(
                    repoTags: result.repoTags, tag: result.tag, tarball: result.tarball, size: result.size,
                    sha256: result.sha256.hex)
                context.progress(.image(built, reused: false))
                return built
            }
            for (item, built) in zip(pending, written) {
                results[item.index] = built
                await context.cache.record(item.unit, payload: try JSONEncoder().encode(built))
            }
        }
        draft.images = results.compactMap { $0 }
        let reused = plan.images.count - pending.count
        return .wroteImages(count: pending.count, upToDate: reused)
    }

    /// What one image tarball depends on: its request (naming, date, platform, where it goes), its
    /// binary as built (by stat signature: a rewritten binary gets a new one) and its base image.
    struct ImageInputs: Encodable, Sendable {
        struct BaseFile: Encodable, Sendable {
            var path: String
            var file: FileSignature
        }

        var request: ImageRequest
        var binary: FileSignature?
        /// nil: scratch.
        var base: BaseFile?
    }

    static func unit(_ image: ReleasePlan.PlannedImage, base: ImageInputs.BaseFile?) throws -> CacheUnit {
        let inputs = ImageInputs(
            request: image.request, binary: FileSignature.ofOutput(image.request.binaryPath), base: base)
        return try CacheUnit(step: .image, inputs: inputs, outputs: [image.tarball, image.tagFile])
    }
}
