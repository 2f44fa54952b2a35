import Foundation
import KbuildCore

/// What `kbuild cut` does (or, with `--dry-run`, would do), step by step.
public struct CutPlan: Sendable, Hashable {
    /// The release tag, `vX.Y`.
    public var version: String
    /// What base.go says after the cut, `vX.Y-dev`.
    public var developmentVersion: String
    /// base.go's `gitVersion` before the cut.
    public var previousVersion: String
    /// The base.go path as given (relative to the workspace unless absolute).
    public var baseFile: String
    /// Human-readable steps, in order.
    public var steps: [String]
}

/// The two-commit release procedure of the Kubernetes releasing guide: "Release vX.Y" with base.go at
/// `vX.Y`, the annotated tag `vX.Y` on it, then "Begin development after vX.Y" with base.go at `vX.Y-dev`.
/// It never pushes.
public struct ReleaseCutter: Sendable {
    private let runner: any ProcessRunner
    private let gitEnvironment: [String: String?]

    /// A cutter running git through `runner`, with `gitEnvironment` added to git's environment
    /// (identity and dates, e.g. for tests).
    public init(runner: any ProcessRunner = SubprocessRunner(), gitEnvironment: [String: String?] = [:]) {
        self.runner = runner
        self.gitEnvironment = gitEnvironment
    }

    /// Checks everything `cut` needs and returns the plan, changing nothing.
    public func plan(version: String, workspace: String, baseFile: String = VersionResolver.defaultBaseFile)
        async throws -> CutPlan
    {
        try await prepare(version: version, workspace: workspace, baseFile: baseFile).plan
    }

    /// Cuts `version`: two commits and an annotated tag, or nothing at all when `dryRun`.
    @discardableResult
    public func cut(
        version: String, workspace: String, baseFile: String = VersionResolver.defaultBaseFile, dryRun: Bool = false
    ) async throws -> CutPlan {
        let prepared = try await prepare(version: version, workspace: workspace, baseFile: baseFile)
        if dryRun { return prepared.plan }
        let plan = prepared.plan
        try write(prepared.releaseText, to: prepared.path, mode: prepared.mode)
        try await git(workspace, ["add", "--", baseFile])
        try await git(workspace, ["commit", "-q", "--allow-empty", "-m", "Release \(version)"])
        try await git(workspace, ["tag", "-a", version, "-m", version])
        try write(prepared.developmentText, to: prepared.path, mode: prepared.mode)
        try await git(workspace, ["add", "--", baseFile])
        try await git(workspace, ["commit", "-q", "-m", "Begin development after \(version)"])
        return plan
    }

    private struct Prepared {
        var plan: CutPlan
        var path: String
        var mode: mode_t
        var releaseText: String
        var developmentText: String
    }

    private func prepare(version: String, workspace: String, baseFile: String) async throws -> Prepared {
        guard VersionRewriter.isReleaseVersion(version) else { throw VersionError.invalidReleaseVersion(version) }
        let head = try await runner.run(gitCommand(workspace, ["rev-parse", "--verify", "-q", "HEAD^{commit}"]))
        guard head.succeeded else { throw VersionError.notAGitRepository(workspace) }
        let status = try await runner.run(gitCommand(workspace, ["status", "--porcelain"]))
        guard status.succeeded else {
            throw VersionError.dirtyTree(
                workspace: workspace, firstChange: "git status failed: \(status.stderr.prefix(200))")
        }
        if let first = status.stdout.split(separator: "\n").first {
            throw VersionError.dirtyTree(workspace: workspace, firstChange: String(first))
        }
        let tag = try await runner.run(gitCommand(workspace, ["rev-parse", "-q", "--verify", "refs/tags/\(version)"]))
        if tag.succeeded { throw VersionError.tagExists(version) }

        let path = Paths.absolute(baseFile, relativeTo: workspace)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VersionError.unreadableFile(
                path: path, reason: "no such file (the base.go whose gitVersion a release sets)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VersionError.unreadableFile(path: path, reason: "not UTF-8 text")
        }
        let file = try BaseFile.parse(text, path: path)
        guard let previous = file.gitVersion else { throw VersionError.baseFileWithoutVersion(path: path) }
        let development = version + "-dev"
        let releaseText = try BaseFile.settingVersion(version, in: text, path: path)
        let developmentText = try BaseFile.settingVersion(development, in: text, path: path)
        var info = stat()
        let mode = stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0o644

        let plan = CutPlan(
            version: version, developmentVersion: development, previousVersion: previous, baseFile: baseFile,
            steps: [
                "set gitVersion in \(baseFile): \"\(previous)\" -> \"\(version)\"",
                "git commit -m \"Release \(version)\"",
                "git tag -a \(version) -m \"\(version)\"",
                "set gitVersion in \(baseFile): \"\(version)\" -> \"\(development)\"",
                "git commit -m \"Begin development after \(version)\"",
            ])
        return Prepared(
            plan: plan, path: path, mode: mode, releaseText: releaseText, developmentText: developmentText)
    }

    private func write(_ text: String, to path: String, mode: mode_t) throws {
        do {
            try FileOutput.writeAtomically(text, to: path, mode: mode)
        } catch {
            throw VersionError.cannotWrite(path: path, reason: "\(error)")
        }
    }

    private func gitCommand(_ workspace: String, _ arguments: [String]) -> Command {
        Command("git", ["-C", workspace] + arguments, environment: .inherit(overrides: gitEnvironment))
    }

    private func git(_ workspace: String, _ arguments: [String]) async throws {
        do {
            try await runner.check(gitCommand(workspace, arguments))
        } catch let error as CommandError {
            throw VersionError.git(error)
        }
    }
}
