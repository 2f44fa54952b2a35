/// How a version is spelled when commits follow the tag.
public enum VersionStyle: String, Sendable, Codable, CaseIterable {
    /// `v1.30.0-5+0123456789abcd`: semver.org compatible, Kubernetes since 2015 (the default).
    case semver
    /// `v0.5-15-g0123abcd4567`: git describe's raw form, the 2014 releasing guide's.
    case describe
}

/// Where the version came from.
public enum VersionSource: String, Sendable, Codable {
    /// `git describe` on a `v*` tag.
    case git
    /// The file named by `KUBE_GIT_VERSION_FILE`.
    case file
    /// `KUBE_GIT_*` environment variables took part (the version, or commit/tree state fed to git describe).
    case environment
    /// The defaults compiled into the binary (`pkg/version/base.go`).
    case baseGo = "base.go"
    /// The placeholders `git archive` filled in an unpacked archive (`ArchiveStamp`).
    case archive = "git archive"
}

/// The version of a workspace, as stamped into every binary.
public struct VersionInfo: Sendable, Hashable, Codable {
    /// `v1.30.0`, `v1.30.0-5+0123456789abcd`, `v1.30.0-dirty`, …
    public var version: String
    /// `1`; empty when the version has no major (never for a validated version).
    public var major: String
    /// `30`, or `30+` between releases.
    public var minor: String
    /// The full commit hash; may be empty (base.go without a commit).
    public var commit: String
    /// `clean`, `dirty`, or whatever an override said.
    public var treeState: String
    /// UTC `YYYY-MM-DDTHH:MM:SSZ`.
    public var buildDate: String
    /// Where `version` came from.
    public var source: VersionSource

    /// A version from its parts.
    public init(
        version: String, major: String, minor: String, commit: String, treeState: String, buildDate: String,
        source: VersionSource
    ) {
        self.version = version
        self.major = major
        self.minor = minor
        self.commit = commit
        self.treeState = treeState
        self.buildDate = buildDate
        self.source = source
    }

    /// The `-X` flags for Kubernetes' six variables in `package` (see `VersionStamp.kubernetes`).
    public func ldflags(package: String) -> [String] { ldflags(VersionStamp.kubernetes(package: package)) }

    /// The same flags as one string ready for `go build -ldflags`, each value quoted.
    public func ldflagsString(package: String) -> String { ldflagsString(VersionStamp.kubernetes(package: package)) }

    /// The `KUBE_GIT_VERSION_FILE` contents: `KEY='value'` lines, as hack/lib/version.sh saves them.
    public var versionFile: String {
        VersionFile.render(
            VersionVariables(commit: commit, treeState: treeState, version: version, major: major, minor: minor))
    }
}
