import KbuildArtifact
import KbuildCore
import KbuildGo
import KbuildRemote

/// How a release runs (not what it produces: that is the plan).
public struct ReleaseOptions: Sendable {
    /// Concurrent builds, images and tarballs.
    public var jobs: Int
    /// Package the binaries already in `_output/local/bin` instead of building.
    public var skipBuild: Bool
    public var sandbox: SandboxMode
    /// gzip level of the release tarballs.
    public var compressionLevel: Int
    /// A Go build cache shared across workspaces (Go's cache is content-addressed); nil: `_output/local/go`.
    public var goCache: String?
    /// SBOM, provenance and signing settings.
    public var proof = ProofOptions()
    /// A shared cache consulted after `_output/cache` and filled after a build (see `RemoteCacheSetup`).
    public var remoteCache: RemoteCache?
    /// Report work in progress (`ReleaseEvent.progress`, compile counts); false when nothing shows it.
    public var reportsProgress = true

    /// `jobs` is required: the CLI computes its default (the cores) once.
    public init(
        jobs: Int, skipBuild: Bool = false, sandbox: SandboxMode = .auto, compressionLevel: Int = 6,
        goCache: String? = nil
    ) {
        self.jobs = max(1, jobs)
        self.skipBuild = skipBuild
        self.sandbox = sandbox
        self.compressionLevel = compressionLevel
        self.goCache = goCache
    }
}

/// One file of the release, as listed in `artifacts.json`.
public struct Artifact: Codable, Sendable, Hashable {
    /// File name, e.g. `kubernetes-server-linux-amd64.tar.gz`.
    public var name: String
    /// Path relative to `_output`.
    public var path: String
    public var kind: ArtifactKind
    public var os: String?
    public var arch: String?
    public var size: Int64
    public var sha256: String
    /// The image reference for image tarballs.
    public var image: String?
}

/// One image tarball of the release, as written now or reused from an earlier run.
public struct BuiltImage: Codable, Sendable, Hashable {
    /// `<registry>/<bin>-<arch>:<tag>` first, then the legacy name if configured.
    public var repoTags: [String]
    public var tag: String
    /// `_output/release-images/<arch>/<bin>.tar`.
    public var tarball: String
    public var size: Int64
    /// Hex sha256 of the tarball.
    public var sha256: String
}

/// What the pipeline reports while it runs.
public enum ReleaseEvent: Sendable {
    case stepStarted(StepName)
    case stepFinished(StepName, seconds: Double, outcome: StepOutcome)
    case build(GoBuildEvent)
    /// A binary whose inputs did not change since it was built.
    case buildReused(GoBuildTarget)
    case image(BuiltImage, reused: Bool)
    case tarball(name: String, size: Int64)
    /// Work that takes a while, as it goes: packing, pushing, uploading (compiling comes as `build`).
    case progress(WorkProgress)
}
