import Foundation
import KbuildCore

/// Computes a workspace's version exactly as Kubernetes' hack/lib/version.sh does.
public struct VersionResolver: Sendable {
    /// The default place of the version defaults, relative to the workspace.
    public static let defaultBaseFile = "pkg/version/base.go"
    /// The version file a source tarball carries at its root, so a build from it knows its version
    /// without git. Used when the workspace is not the top of a git repository of its own.
    public static let embeddedVersionFile = ".kube-git-version"

    private let runner: any ProcessRunner

    /// A resolver running git through `runner`.
    public init(runner: any ProcessRunner = SubprocessRunner()) {
        self.runner = runner
    }

    /// The version of `workspace`. Precedence: the file named by `KUBE_GIT_VERSION_FILE`; else the
    /// `KUBE_GIT_*` variables for what they set, git for the rest; the version falls back to `baseFile`
    /// (relative to the workspace) when git has no `v*` tag or there is no git repository.
    /// `sourceDate`, when the caller already has it, is used as the build date instead of asking again.
    /// A shallow clone without `v*` tags is reported through `warn` (one line), or is an error when
    /// `strict` or `CI=true` (see `shallowPolicy`).
    public func resolve(
        workspace: String, environment: [String: String], baseFile: String = defaultBaseFile,
        style: VersionStyle = .semver, sourceDate known: SourceDate? = nil, strict: Bool = false,
        warn: @Sendable (String) -> Void = { _ in }
    ) async throws -> VersionInfo {
        let date: SourceDate
        if let known {
            date = known
        } else {
            date = try await sourceDate(workspace: workspace, environment: environment)
        }
        let buildDate = date.rfc3339
        var info: VersionInfo
        if let path = environment["KUBE_GIT_VERSION_FILE"], !path.isEmpty {
            info = try Self.fromVersionFile(path: path, buildDate: buildDate)
        } else if let embedded = await embeddedVersionFile(in: workspace),
            VersionVariables(environment: environment).isEmpty
        {
            info = try Self.fromVersionFile(path: embedded, buildDate: buildDate)
        } else {
            try Self.checkOverrides(VersionVariables(environment: environment))
            info = try await fromGit(
                workspace: workspace, overrides: VersionVariables(environment: environment), baseFile: baseFile,
                style: style, buildDate: buildDate)
            if info.source == .baseGo, try await isShallow(workspace) {
                let problem = VersionError.shallowWithoutTags(workspace: workspace, fallback: info.version)
                if strict || environment["CI"] == "true" { throw problem }
                warn(problem.description)
            }
        }
        let origin = Self.origin(of: info.source, environment: environment, baseFile: baseFile)
        if info.source == .file, !["", "clean", "dirty", "archive"].contains(info.treeState) {
            throw VersionError.invalidValue(name: "KUBE_GIT_TREE_STATE", value: info.treeState, origin: origin)
        }
        guard VersionRewriter.isValid(info.version) else {
            throw VersionError.invalidVersion(version: info.version, origin: origin)
        }
        if info.major.isEmpty || info.minor.isEmpty, let parts = VersionRewriter.majorMinor(of: info.version) {
            (info.major, info.minor) = parts
        }
        for (name, value) in [
            ("commit", info.commit), ("treeState", info.treeState), ("major", info.major), ("minor", info.minor),
        ]
        where value.unicodeScalars.contains(where: {
            $0 == "'" || $0 == "\"" || $0.properties.generalCategory == .control
        }) {
            throw VersionError.invalidValue(name: name, value: value, origin: origin)
        }
        return info
    }

    /// The release timestamp: `SOURCE_DATE_EPOCH` when set, else the HEAD commit time, else the commit
    /// time `git archive` wrote into `.kbuild-archive-version`, else 0 (base.go's 1970-01-01T00:00:00Z).
    public func sourceDate(workspace: String, environment: [String: String]) async throws -> SourceDate {
        if let epoch = environment["SOURCE_DATE_EPOCH"], !epoch.isEmpty {
            do throws(SourceDateError) {
                return try SourceDate(parsing: epoch)
            } catch {
                throw VersionError.sourceDate(error)
            }
        }
        if try await headCommit(workspace) != nil,
            let result = await git(workspace, ["show", "-s", "--format=%ct", "HEAD"]), result.succeeded,
            let seconds = Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
            let date = try? SourceDate(seconds: seconds)
        {
            return date
        }
        if let seconds = ArchiveStamp.read(workspace: workspace)?.commitTime,
            let date = try? SourceDate(seconds: seconds)
        {
            return date
        }
        return try SourceDate(seconds: 0)
    }

    // MARK: - Sources

    static func fromVersionFile(path: String, buildDate: String) throws -> VersionInfo {
        let allowed =
            "(KUBE_GIT_VERSION_FILE); allowed: a regular file of KEY='value' lines, as kbuild version --save writes"
        let data: Data
        do throws(FileKindError) {
            data = try FileKind.readRegularFile(path, limit: 1 << 20)
        } catch {
            let reason = error.reason == String(cString: strerror(ENOENT)) ? "no such file" : error.reason
            throw VersionError.unreadableFile(path: path, reason: "\(reason) \(allowed)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VersionError.unreadableFile(path: path, reason: "not UTF-8 text \(allowed)")
        }
        let variables = try VersionFile.parse(text, path: path)
        guard let version = variables.version else { throw VersionError.versionFileWithoutVersion(path: path) }
        return VersionInfo(
            version: version, major: variables.major ?? "", minor: variables.minor ?? "",
            commit: variables.commit ?? "", treeState: variables.treeState ?? "", buildDate: buildDate, source: .file)
    }

    private func fromGit(
        workspace: String, overrides: VersionVariables, baseFile: String, style: VersionStyle, buildDate: String
    ) async throws -> VersionInfo {
        let source: VersionSource = overrides.isEmpty ? .git : .environment
        var commit = overrides.commit
        if commit == nil { commit = try await headCommit(workspace) }
        guard let commit else {
            // No git: the environment's version if any, else the binary's defaults.
            if let version = overrides.version {
                // As in version.sh, without git KUBE_GIT_MAJOR/MINOR are stamped as given (both, or derived).
                let both = overrides.major != nil && overrides.minor != nil
                return VersionInfo(
                    version: Self.rewrite(version, style: style, treeState: overrides.treeState ?? ""),
                    major: both ? overrides.major ?? "" : "", minor: both ? overrides.minor ?? "" : "", commit: "",
                    treeState: overrides.treeState ?? "", buildDate: buildDate, source: .environment)
            }
            if let stamp = ArchiveStamp.read(workspace: workspace) {
                return try Self.fromArchive(
                    stamp, workspace: workspace, baseFile: baseFile, overrides: overrides, style: style,
                    buildDate: buildDate)
            }
            return try Self.fromBaseFile(
                workspace: workspace, baseFile: baseFile, overrides: overrides, buildDate: buildDate,
                reason: "it is not in a git repository with commits")
        }
        // `git status` (the slow one on a large tree) and `git describe` are independent: both at once.
        async let status = overrides.treeState == nil ? porcelainStatus(workspace) : nil
        async let described = overrides.version == nil ? describe(workspace, commit: commit) : nil
        var treeState = overrides.treeState
        if treeState == nil {
            // Untracked files count: a new .go file changes the build.
            treeState = try await status?.isEmpty == true ? "clean" : "dirty"
        }
        let state = treeState ?? "dirty"
        var version = overrides.version
        if version == nil { version = try await described }
        guard let version else {
            // No v* tag: the binary keeps base.go's gitVersion; commit and tree state are git's.
            var withGit = overrides
            withGit.commit = commit
            withGit.treeState = state
            return try Self.fromBaseFile(
                workspace: workspace, baseFile: baseFile, overrides: withGit, buildDate: buildDate,
                reason: "git describe finds no v* tag")
        }
        let final = Self.rewrite(version, style: style, treeState: state)
        let parts = VersionRewriter.majorMinor(of: final)
        return VersionInfo(
            version: final, major: parts?.major ?? overrides.major ?? "", minor: parts?.minor ?? overrides.minor ?? "",
            commit: commit, treeState: state, buildDate: buildDate, source: source)
    }

    /// `git status --porcelain` of the workspace.
    private func porcelainStatus(_ workspace: String) async throws -> String? {
        try await gitReading(workspace, ["status", "--porcelain"])
    }

    /// `git describe` of `commit` on `v*` tags; nil when there is none ("No names found" / "No tags can
    /// describe": the base.go case); any other failure is an error.
    private func describe(_ workspace: String, commit: String) async throws -> String? {
        try await gitReading(
            workspace, ["describe", "--tags", "--match=v*", "--abbrev=14", "\(commit)^{commit}"],
            absentWhen: ["no names found", "no tags can describe", "cannot describe"]
        )?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Each `KUBE_GIT_*` override must be something a binary can carry, named by its variable when not.
    /// One plain call per variable: a table of closures here compiled to different code from one swiftc
    /// run to the next, and `make dist` builds must be byte-identical.
    static func checkOverrides(_ overrides: VersionVariables) throws {
        try require(
            "KUBE_GIT_COMMIT", overrides.commit, "a git commit hash, without quotes or control characters",
            valid: isStampable)
        try require(
            "KUBE_GIT_TREE_STATE", overrides.treeState, "clean, dirty or archive",
            valid: { ["clean", "dirty", "archive"].contains($0) })
        try require("KUBE_GIT_MAJOR", overrides.major, "digits, e.g. 1", valid: { isDigits(Substring($0)) })
        try require(
            "KUBE_GIT_MINOR", overrides.minor, "digits with an optional +, e.g. 30 or 31+",
            valid: { isDigits($0.hasSuffix("+") ? $0.dropLast() : Substring($0)) })
    }

    private static func require(
        _ variable: String, _ value: String?, _ allowed: String, valid: (String) -> Bool
    ) throws {
        if let value, !valid(value) {
            throw VersionError.invalidOverride(variable: variable, value: value, allowed: allowed)
        }
    }

    /// An unpacked `git archive`: its tag, commit and tree state `archive` (the environment's commit or
    /// tree state win); an untagged commit keeps base.go's version, as version.sh does.
    static func fromArchive(
        _ stamp: ArchiveStamp, workspace: String, baseFile: String, overrides: VersionVariables, style: VersionStyle,
        buildDate: String
    ) throws -> VersionInfo {
        var archived = overrides
        archived.commit = overrides.commit ?? stamp.commit
        archived.treeState = overrides.treeState ?? "archive"
        guard let tag = stamp.tag else {
            var info = try fromBaseFile(
                workspace: workspace, baseFile: baseFile, overrides: archived, buildDate: buildDate,
                reason: "the archive's commit has no v* tag (\(stamp.file))")
            info.source = .archive
            return info
        }
        let version = rewrite(tag, style: style, treeState: archived.treeState ?? "archive")
        let parts = VersionRewriter.majorMinor(of: version)
        return VersionInfo(
            version: version, major: parts?.major ?? overrides.major ?? "",
            minor: parts?.minor ?? overrides.minor ?? "",
            commit: archived.commit ?? stamp.commit, treeState: archived.treeState ?? "archive", buildDate: buildDate,
            source: .archive)
    }

    private static func isStampable(_ value: String) -> Bool {
        !value.unicodeScalars.contains { $0 == "'" || $0 == "\"" || $0.properties.generalCategory == .control }
    }

    private static func isDigits(_ value: Substring) -> Bool {
        !value.isEmpty && value.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The version from base.go; `overrides` (environment or git) win for commit and tree state.
    static func fromBaseFile(
        workspace: String, baseFile: String, overrides: VersionVariables, buildDate: String, reason: String
    ) throws -> VersionInfo {
        let path = Paths.absolute(baseFile, relativeTo: workspace)
        guard FileManager.default.fileExists(atPath: path) else {
            throw VersionError.noVersion(workspace: workspace, baseFile: baseFile, reason: reason)
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw VersionError.unreadableFile(path: path, reason: "not readable UTF-8 text")
        }
        let file = try BaseFile.parse(text, path: path)
        guard let version = file.gitVersion, !version.isEmpty else {
            throw VersionError.baseFileWithoutVersion(path: path)
        }
        return VersionInfo(
            version: version, major: overrides.major ?? "", minor: overrides.minor ?? "",
            commit: overrides.commit ?? file.gitCommit ?? "", treeState: overrides.treeState ?? file.gitTreeState ?? "",
            buildDate: buildDate, source: .baseGo)
    }

    /// hack/lib/version.sh's rewrite (semver style only) and its `-dirty` suffix.
    static func rewrite(_ version: String, style: VersionStyle, treeState: String) -> String {
        let rewritten = style == .semver ? VersionRewriter.semver(fromDescribe: version) : version
        return treeState == "dirty" ? rewritten + "-dirty" : rewritten
    }

    /// Where the version string itself came from, for error messages.
    private static func origin(of source: VersionSource, environment: [String: String], baseFile: String) -> String {
        switch source {
        case .git: return "git describe"
        case .file: return "KUBE_GIT_VERSION_FILE=\(environment["KUBE_GIT_VERSION_FILE"] ?? "")"
        case .environment:
            return VersionVariables(environment: environment).version == nil ? "git describe" : "KUBE_GIT_VERSION"
        case .baseGo: return baseFile
        case .archive: return "git archive placeholders"
        }
    }

    /// Runs git in `workspace`; nil when git cannot be started (treated like "no repository").
    /// `<workspace>/.kube-git-version` when it exists and the workspace is not a git top level itself
    /// (an unpacked source tarball, possibly inside some other checkout).
    private func embeddedVersionFile(in workspace: String) async -> String? {
        let path = workspace + "/" + Self.embeddedVersionFile
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        if let result = await git(workspace, ["rev-parse", "--show-toplevel"]), result.succeeded {
            let top = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let real = { (p: String) in URL(fileURLWithPath: p).resolvingSymlinksInPath().path }
            if real(top) == real(workspace) { return nil }
        }
        return path
    }

    private func git(_ workspace: String, _ arguments: [String]) async -> CommandResult? {
        try? await runner.run(Command("git", ["-C", workspace] + arguments))
    }

    // MARK: - Reading the repository

    /// HEAD's commit; nil when there is no repository (an unpacked source tarball), no commit yet, or no git.
    /// A repository git refuses or cannot read (dubious ownership, a corrupt `.git`, …) is an error:
    /// falling back to base.go there would release a silently wrong version.
    func headCommit(_ workspace: String) async throws -> String? {
        let output = try await gitReading(
            workspace, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            absentWhen: ["unknown revision", "needed a single revision", "bad revision"], noRepositoryIsAbsent: true)
        let commit = output?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return commit.isEmpty ? nil : commit
    }

    /// Throws `unreadableRepository` with git's own reason when git refuses the workspace's repository
    /// (dubious ownership, a corrupt `.git`); no repository at all is fine.
    public func checkRepository(_ workspace: String) async throws {
        _ = try await headCommit(workspace)
    }

    /// True when the workspace is a shallow clone.
    func isShallow(_ workspace: String) async throws -> Bool {
        let output = try await gitReading(
            workspace, ["rev-parse", "--is-shallow-repository"], noRepositoryIsAbsent: true)
        return output?.trimmingCharacters(in: .whitespacesAndNewlines) == "true"
    }

    /// git's stdout; nil when git is not installed, when git's error says one of `absentWhen` (lowercased),
    /// or — with `noRepositoryIsAbsent` — when there is no repository at all. Any other failure throws
    /// `unreadableRepository` with git's own first line.
    private func gitReading(
        _ workspace: String, _ arguments: [String], absentWhen: [String] = [], noRepositoryIsAbsent: Bool = false
    ) async throws -> String? {
        guard let result = await git(workspace, arguments) else { return nil }
        if result.succeeded { return result.stdout }
        let stderr = result.stderr.lowercased()
        if absentWhen.contains(where: { stderr.contains($0) }) { return nil }
        // rev-parse --verify --quiet prints nothing for a missing HEAD in a readable repository.
        if noRepositoryIsAbsent, stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return nil }
        if stderr.contains("not a git repository"), noRepositoryIsAbsent, !Self.hasGitDirectory(above: workspace) {
            return nil
        }
        throw VersionError.unreadableRepository(workspace: workspace, gitMessage: Self.firstMessage(of: result.stderr))
    }

    /// git's first `fatal:`/`error:` line without its prefix (the rest is advice spread over lines).
    static func firstMessage(of stderr: String) -> String {
        let lines = stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let chosen =
            lines.first { $0.hasPrefix("fatal: ") } ?? lines.first { $0.hasPrefix("error: ") }
            ?? lines.first ?? "git failed without a message"
        for prefix in ["fatal: ", "error: "] where chosen.hasPrefix(prefix) {
            return String(chosen.dropFirst(prefix.count))
        }
        return chosen
    }

    /// True when `workspace` or a directory above it holds `.git`: git saying "not a git repository"
    /// there means a `.git` it cannot use (corrupt), not an unpacked tarball.
    static func hasGitDirectory(above workspace: String) -> Bool {
        var directory = URL(fileURLWithPath: workspace).standardizedFileURL.path
        while true {
            var info = stat()
            if lstat(directory + "/.git", &info) == 0 { return true }
            if directory == "/" || directory.isEmpty { return false }
            directory = Paths.parent(of: directory)
            if directory.isEmpty { directory = "/" }
        }
    }
}
