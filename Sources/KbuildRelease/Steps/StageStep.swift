import Foundation
import KbuildCore

/// Lays out `release-stage` in the Kubernetes layout, in a temporary sibling (and makes the one of
/// `release-tars`): binaries, images and add-ons of every tarball are hard-linked into place.
struct StageStep: ReleaseStep {
    let name = "stage"

    /// The plan, the config, the files git tracks (read by the runner), every packed binary (by stat
    /// signature) and image.
    func inputs(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> [String] {
        let plan = context.plan
        let binaries = plan.packedBinaries
        try requireFiles(binaries + plan.images.flatMap { [$0.tarball, $0.tagFile] })
        return [plan.rendered, plan.configFingerprint] + draft.tracked
            + binaries.map { "\($0) \(StatSignature(of: $0)?.line ?? "")" }
            + draft.images.map { "\($0.tarball) \($0.sha256)" }
    }

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let layout = context.layout
        draft.stageRoot = FileOutput.temporarySibling(of: layout.releaseStage)
        draft.tarsRoot = FileOutput.temporarySibling(of: layout.releaseTars)
        let stager = Stager(root: draft.stageRoot)
        try stager.makeDirectory(draft.stageRoot)
        try stager.makeDirectory(draft.tarsRoot)
        // The src tarball is HEAD's tree (symlinks kept, committed bytes); staged files only without git.
        draft.sourceTree = try await SourceTree.read(
            workspace: context.plan.workspace, into: draft.stageRoot + "/src", runner: context.processes)
        // Without a commit to read, the tracked files on disk are staged: only regular files can be
        // (deleted-but-tracked files and submodule directories are skipped).
        let onDisk =
            draft.sourceTree != nil
            ? []
            : draft.tracked.filter { file in
                var info = stat()
                return lstat(context.plan.workspace + "/" + file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
            }
        try stage(with: stager, tracked: onDisk, plan: context.plan)
        return .done(layout.releaseStage)
    }

    private func stage(with stager: Stager, tracked: [String], plan: ReleasePlan) throws {
        let project = plan.project
        let workspace = plan.workspace
        let config = plan.config
        let manifests = try AddonManifests.find(
            workspace: workspace, directories: config.addons.dirs, exclude: config.addons.exclude)
        let licenses = ["LICENSES", "LICENSE"].map { workspace + "/" + $0 }
            .first { FileManager.default.fileExists(atPath: $0) }
        let readme = ["README.md", "README"].map { workspace + "/" + $0 }
            .first { FileManager.default.fileExists(atPath: $0) }
        func placeAddons(in dir: String) throws {
            for manifest in manifests {
                try stager.place(manifest.source, at: "\(dir)/\(project)/addons/\(manifest.relativePath)")
            }
        }

        for tarball in plan.tarballs {
            let dir = plan.stageDirectory(tarball)
            switch tarball.kind {
            case .src:
                for file in tracked {
                    try stager.place(workspace + "/" + file, at: "\(dir)/\(file)")
                }
                try stager.write(plan.version.versionFile, at: "\(dir)/\(ReleasePlan.sourceVersionFile)")
            case .manifests:
                // A workspace without add-ons still gets the tarball (`<project>/addons/`, empty): a stable layout.
                try stager.makeDirectory("\(stager.root)/\(dir)/\(project)/addons")
                try placeAddons(in: dir)
            case .client, .server, .node, .test:
                guard let platform = tarball.platform else { continue }
                let bin = "\(dir)/\(project)/\(tarball.kind.rawValue)/bin"
                for name in tarball.binaries {
                    try stager.place(
                        plan.layout.binary(name, platform), at: "\(bin)/\(name)\(platform.executableSuffix)")
                }
                for name in tarball.images {
                    let image = plan.layout.imageDirectory(arch: platform.arch) + "/" + name
                    try stager.place(image + ".tar", at: "\(bin)/\(name).tar")
                    try stager.place(image + ".docker_tag", at: "\(bin)/\(name).docker_tag")
                }
                if tarball.kind == .server { try placeAddons(in: dir) }
                if let licenses {
                    try stager.placeTree(licenses, at: "\(dir)/\(project)/LICENSES", workspace: workspace)
                }
            case .full:
                try stager.write(plan.version.version + "\n", at: "\(dir)/\(project)/version")
                for include in config.full.include {
                    try stager.placeTree(
                        Paths.absolute(include, relativeTo: workspace), at: "\(dir)/\(project)/\(include)",
                        workspace: workspace)
                }
                if let licenses {
                    try stager.placeTree(licenses, at: "\(dir)/\(project)/LICENSES", workspace: workspace)
                }
                if let readme { try stager.place(readme, at: "\(dir)/\(project)/\(Paths.name(of: readme))") }
            }
        }
    }
}

extension ReleasePlan {
    /// `release-stage/<kind>/<os>-<arch>` for platform tarballs, `release-stage/<kind>` otherwise (relative).
    func stageDirectory(_ tarball: PlannedTarball) -> String {
        tarball.platform.map { "\(tarball.kind.rawValue)/\($0.dashed)" } ?? tarball.kind.rawValue
    }

    /// Every binary some tarball ships, sorted.
    var packedBinaries: [String] {
        Set(
            tarballs.flatMap { tarball in
                tarball.binaries.compactMap { name in tarball.platform.map { layout.binary(name, $0) } }
            }
        ).sorted()
    }
}

/// The files of the source tarball.
enum SourceFiles {
    /// The files git tracks (`git ls-files`); without git, every file but `_output` and `.git`. Their
    /// contents are in the source digest: this list only adds what git tracks to the package key, without
    /// a second stat of every file of a large tree.
    static func tracked(in workspace: String, runner: any ProcessRunner) async throws -> [String] {
        let result = try await runner.run(Command("git", ["-C", workspace, "ls-files", "-z"]))
        let files: [String]
        if result.succeeded {
            files = result.stdout.split(separator: "\0").map(String.init)
        } else {
            files = try AddonManifests.files(under: workspace, workspace: workspace)
                .filter { !$0.hasPrefix("_output/") && !$0.hasPrefix(".git/") && $0 != ".git" }
        }
        return files.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
