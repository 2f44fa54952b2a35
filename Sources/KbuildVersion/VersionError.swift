import KbuildCore

/// Everything that can go wrong computing a version or cutting a release.
public enum VersionError: Error, CustomStringConvertible, Equatable {
    /// The final version does not match Kubernetes' semantic version pattern.
    case invalidVersion(version: String, origin: String)
    /// A value (commit, tree state, major, minor) that cannot be stamped safely.
    case invalidValue(name: String, value: String, origin: String)
    /// A `KUBE_GIT_*` variable of the environment holds a value kbuild cannot stamp.
    case invalidOverride(variable: String, value: String, allowed: String)
    /// `KUBE_GIT_VERSION_FILE` names a file that cannot be read.
    case unreadableFile(path: String, reason: String)
    /// A malformed line in a version file or base.go.
    case syntax(path: String, line: Int, message: String)
    /// A version file without `KUBE_GIT_VERSION`.
    case versionFileWithoutVersion(path: String)
    /// Neither git (with a `v*` tag), nor overrides, nor a base.go could supply a version.
    case noVersion(workspace: String, baseFile: String, reason: String)
    /// base.go exists but defines no `gitVersion` string.
    case baseFileWithoutVersion(path: String)
    /// A bad `SOURCE_DATE_EPOCH`.
    case sourceDate(SourceDateError)
    /// A git command failed where it must not.
    case git(CommandError)
    /// git refuses or cannot read the workspace's repository (dubious ownership, corrupt `.git`, …).
    case unreadableRepository(workspace: String, gitMessage: String)
    /// A shallow clone in which git describe finds no `v*` tag: the version would be base.go's.
    case shallowWithoutTags(workspace: String, fallback: String)
    /// `kbuild cut` was given something other than `vMAJOR.MINOR[.PATCH][-pre]`.
    case invalidReleaseVersion(String)
    /// `kbuild cut` outside a git repository with at least one commit.
    case notAGitRepository(String)
    /// `kbuild cut` on a tree with changes.
    case dirtyTree(workspace: String, firstChange: String)
    /// `kbuild cut` for a tag that already exists.
    case tagExists(String)
    /// An output file could not be written.
    case cannotWrite(path: String, reason: String)

    /// One line whatever the values hold (a newline in a value is shown as `\n`).
    public var description: String {
        if case .git(let error) = self { return error.description }
        return Escaping.oneLine(text)
    }

    private var text: String {
        switch self {
        case .invalidVersion(let version, let origin):
            return
                "version \(version.contains("\n") || version.contains("'") ? Escaping.shown(version) : "'\(version)'") (from \(origin)) is not a valid semantic version: expected vMAJOR.MINOR[.PATCH][-PRERELEASE][+BUILD] (see https://semver.org), e.g. v1.30.0 or v1.31.0-alpha.1"
        case .invalidValue(let name, let value, let origin):
            return
                "\(name)=\(Escaping.shown(value)) (from \(origin)) cannot be stamped into a binary; allowed: \(name == "KUBE_GIT_TREE_STATE" ? "clean, dirty or archive" : "text without quotes or control characters")"
        case .invalidOverride(let variable, let value, let allowed):
            return
                "\(variable)=\(Escaping.shown(value)) (from the environment) cannot be stamped into a binary; allowed: \(allowed)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .syntax(let path, let line, let message):
            return "\(path):\(line): \(message)"
        case .versionFileWithoutVersion(let path):
            return "\(path): no KUBE_GIT_VERSION line: a version file must set KUBE_GIT_VERSION='vX.Y.Z'"
        case .noVersion(let workspace, let baseFile, let reason):
            return
                "cannot determine the version of \(workspace): \(reason), and there is no \(baseFile) to fall back to; tag a release (git tag -a vX.Y), or set KUBE_GIT_VERSION_FILE or KUBE_GIT_VERSION"
        case .baseFileWithoutVersion(let path):
            return "\(path) defines no gitVersion string: expected a line like `gitVersion = \"v0.5-dev\"`"
        case .sourceDate(let error):
            return error.description
        case .git(let error):
            return error.description
        case .unreadableRepository(let workspace, let message):
            let trust =
                message.contains("dubious ownership") || message.contains("safe.directory")
                ? "if you trust it, git config --global --add safe.directory \(workspace)"
                : "repair or re-clone it"
            return
                "git cannot read the repository at \(workspace): \(message); allowed: a repository git can read (\(trust)), or KUBE_GIT_VERSION_FILE with SOURCE_DATE_EPOCH to release without git"
        case .shallowWithoutTags(let workspace, let fallback):
            return
                "\(workspace) is a shallow clone and git describe finds no v* tag in it, so the version falls back to base.go's \(fallback); fetch the tags (git fetch --unshallow --tags) or set KUBE_GIT_VERSION_FILE"
        case .invalidReleaseVersion(let version):
            return
                "'\(version)' is not a release version: expected vMAJOR.MINOR[.PATCH][-PRERELEASE], e.g. v0.5, v1.2.3 or v1.3.0-rc.1"
        case .notAGitRepository(let workspace):
            return "\(workspace) is not a git repository with at least one commit: `kbuild cut` commits and tags"
        case .dirtyTree(let workspace, let firstChange):
            return
                "the tree at \(workspace) has uncommitted changes (\(firstChange)): commit or stash them before cutting a release"
        case .tagExists(let tag):
            return "tag \(tag) already exists: pick the next version, or delete the tag if it was never published"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
