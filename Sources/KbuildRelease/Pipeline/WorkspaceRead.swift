import KbuildCore
import KbuildProof
import KbuildVersion

/// What a run that packages reads of the workspace once, all asked at once, before any step
/// (`StepRunner.readWorkspace`); the steps that need a part of it are given that part.
struct WorkspaceRead: Sendable {
    /// The content digest of the workspace's sources.
    var sources: String
    /// The files git tracks (`git ls-files`), for the stage step.
    var tracked: [String]
    /// The git remote, ref and commit the provenance names; nil without a commit.
    var source: SourceReference?
}

extension SourceReference {
    /// The git facts of `version`'s commit in `workspace`: the `origin` remote (credentials and local
    /// paths left out), the ref, the commit. nil when the version names no commit.
    static func read(_ version: VersionInfo, workspace: String, runner: any ProcessRunner) async -> SourceReference? {
        guard !version.commit.isEmpty else { return nil }
        func git(_ arguments: String...) async -> String? {
            guard let result = try? await runner.run(Command("git", ["-C", workspace] + arguments)), result.succeeded
            else { return nil }
            let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
        // Three independent questions: asked at once.
        async let tag = git("describe", "--exact-match", "--tags", "--match=v*", "HEAD")
        async let branch = git("symbolic-ref", "-q", "HEAD")
        async let origin = git("remote", "get-url", "origin")
        let (exactTag, symbolic, fetchURL) = await (tag, branch, origin)
        let ref = exactTag.map { "refs/tags/" + $0 } ?? symbolic ?? version.commit
        return SourceReference(
            remote: fetchURL.flatMap(publicRemote), ref: ref, commit: version.commit, treeState: version.treeState)
    }

    /// A remote URL fit to publish: userinfo, query and fragment dropped (where tokens hide), scp-like
    /// `host:path` as `ssh://host/path`, local paths nil.
    static func publicRemote(_ url: String) -> String? {
        if var parts = URLSecrets(url) {
            parts.scheme = parts.scheme?.lowercased()
            guard parts.scheme != "file" else { return nil }
            return parts.stripped
        }
        guard !url.hasPrefix("/"), !url.hasPrefix("."), let colon = url.firstIndex(of: ":") else { return nil }
        var host = url[..<colon]
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        return URLSecrets("ssh://\(host)/\(url[url.index(after: colon)...])")?.stripped
    }
}

/// The temporary siblings of `release-stage` and `release-tars` that the package steps write into:
/// chosen by the pipeline before the phase, made by stage, swapped in whole by publish; the runner
/// removes whatever a failed run left.
struct PackageScratch: Sendable, Hashable {
    let stage: String
    let tars: String

    init(_ layout: OutputLayout) {
        stage = FileOutput.temporarySibling(of: layout.releaseStage)
        tars = FileOutput.temporarySibling(of: layout.releaseTars)
    }
}
