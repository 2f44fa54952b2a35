import Foundation
import KbuildArtifact
import KbuildCore
import KbuildDigest

/// Lays out `release-stage` as the plan's archive entries say, in a temporary sibling (and makes the one of
/// `release-tars`): binaries, images and add-ons of every tarball are hard-linked into place.
struct StageStep: ReleaseStep {
    let name = StepName.stage
    let scratch: PackageScratch
    /// The files git tracks (`git ls-files`), read by the runner.
    let tracked: [String]

    /// What the staged tree depends on beyond the sources: the plan (every archive's entries), the
    /// files git tracks, every packed binary as built and every image as written.
    struct Inputs: Encodable, Sendable {
        /// `ReleasePlan.documentDigest`.
        var plan: String
        /// The sha256 of the tracked paths (`git ls-files`): their contents are in the source digest.
        var tracked: String
        /// Every binary some archive ships, by path: a rebuilt binary gets a new signature.
        var binaries: [String: FileSignature]
        /// Every image tarball, by path, with its sha256.
        var images: [String: String]
    }

    func inputs(_ draft: ReleaseDraft, in context: StepContext) async throws -> Inputs {
        let plan = context.plan
        let binaries = plan.packedBinaries
        try requireFiles(binaries + plan.images.flatMap { [$0.tarball, $0.tagFile] })
        return Inputs(
            plan: plan.documentDigest, tracked: Digest.ofParts(tracked, .sha256).hex,
            binaries: Dictionary(
                binaries.compactMap { path in FileSignature.ofOutput(path).map { (path, $0) } },
                uniquingKeysWith: { first, _ in first }),
            images: Dictionary(draft.images.map { ($0.tarball, $0.sha256) }, uniquingKeysWith: { first, _ in first }))
    }

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let layout = context.layout
        let stager = Stager(root: scratch.stage)
        try stager.makeDirectory(scratch.stage)
        try stager.makeDirectory(scratch.tars)
        // The src tarball is HEAD's tree (symlinks kept, committed bytes); staged files only without git.
        if let source = context.plan.sourceArchive {
            draft.sourceTree = try await SourceTree.read(
                workspace: context.plan.workspace, into: scratch.stage + "/" + source.stageDirectory,
                runner: context.processes)
        }
        // Without a commit to read, the tracked files on disk are staged: only regular files can be
        // (deleted-but-tracked files and submodule directories are skipped).
        let onDisk =
            draft.sourceTree != nil
            ? []
            : tracked.filter { file in
                var info = stat()
                return lstat(context.plan.workspace + "/" + file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
            }
        try stage(with: stager, tracked: onDisk, plan: context.plan)
        return .staged(directory: layout.releaseStage)
    }

    /// Carries out every entry of every archive of the plan but the nested archives (pack places those).
    private func stage(with stager: Stager, tracked: [String], plan: ReleasePlan) throws {
        let workspace = plan.workspace
        let config = plan.config
        let manifests = try AddonManifests.find(
            workspace: workspace, directories: config.addons.dirs, exclude: config.addons.exclude)
        // A binary asset is its binary alone: pack copies it, nothing is staged.
        for archive in plan.archives where archive.format != .binary {
            let dir = archive.stageDirectory
            for entry in archive.entries {
                let at = entry.path.isEmpty ? dir : "\(dir)/\(entry.path)"
                switch entry.source {
                case .binary(let name, let platform):
                    try stager.place(plan.layout.binary(name, platform), at: at)
                case .image(let name, let arch):
                    try stager.place(plan.layout.imageDirectory(arch: arch) + "/\(name).tar", at: at)
                case .imageTag(let name, let arch):
                    try stager.place(plan.layout.imageDirectory(arch: arch) + "/\(name).docker_tag", at: at)
                case .workspaceFile(let path):
                    // A symlinked file is followed only while it stays in the workspace.
                    try stager.placeTree(workspace + "/" + path, at: at, workspace: workspace)
                case .tree(let path):
                    try stager.placeTree(Paths.absolute(path, relativeTo: workspace), at: at, workspace: workspace)
                case .addons:
                    for manifest in manifests {
                        try stager.place(manifest.source, at: "\(at)/\(manifest.relativePath)")
                    }
                case .gitTree:
                    // Staged from disk only without git; with git, pack reads HEAD's tree (`draft.sourceTree`).
                    for file in tracked { try stager.place(workspace + "/" + file, at: "\(at)/\(file)") }
                case .generated(let content):
                    try stager.write(content, at: at)
                case .directory:
                    try stager.makeDirectory("\(stager.root)/\(at)")
                case .archive:
                    continue
                }
            }
        }
    }
}

extension ReleasePlan {
    /// The archive that carries git's tree of the release commit (Kubernetes' src tarball), if any.
    var sourceArchive: PlannedArchive? {
        archives.first { $0.entries.contains { $0.source == .gitTree } }
    }

    /// Every binary some archive ships, sorted.
    var packedBinaries: [String] {
        Set(archives.flatMap { $0.builtBinaries.map { layout.binary($0.name, $0.platform) } }).sorted()
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
