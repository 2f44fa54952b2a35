import KbuildCore

/// Whether Go compilers run without network (`unshare -n`).
public enum SandboxMode: String, Sendable, CaseIterable {
    /// Use the network sandbox when the kernel allows it, else build without and say so.
    case auto
    /// Never sandbox.
    case off
    /// Fail unless the network sandbox works.
    case required
}

/// How compilers ran: in their own network namespace, or not, and why.
public enum SandboxStatus: Sendable, Hashable, CustomStringConvertible {
    /// Inside `unshare -n`: no network.
    case networkNamespace
    /// `--sandbox off`.
    case off
    /// `--sandbox auto` on a kernel that refuses `unshare -n`: the reason.
    case unavailable(String)

    public var description: String {
        switch self {
        case .networkNamespace: return "network namespace (unshare -n)"
        case .off: return "off"
        case .unavailable(let reason): return "unavailable: \(reason)"
        }
    }
}

/// `GOFLAGS=-mod=…`: how Go resolves modules.
public enum GoModMode: String, Sendable, Codable, CaseIterable {
    /// go.mod and the module cache (GOPROXY=off: only what is already there).
    case mod
    /// `vendor/`.
    case vendor
    /// go.mod as it is; a needed change is an error.
    case readonly
}

/// One binary for one platform and the file it ends up in.
public struct GoBuildTarget: Sendable, Hashable {
    /// The binary's name, for messages and progress.
    public var binary: String
    /// The Go package to build (import path or `./dir` relative to the workspace).
    public var package: String
    public var platform: Platform
    /// Static binaries build with CGO_ENABLED=0, others with CGO_ENABLED=1.
    public var isStatic: Bool
    /// The final path, absolute (`_output/local/bin/<os>/<arch>/<bin>[.exe]`).
    public var output: String

    public init(binary: String, package: String, platform: Platform, isStatic: Bool, output: String) {
        self.binary = binary
        self.package = package
        self.platform = platform
        self.isStatic = isStatic
        self.output = output
    }
}

/// How every binary of the matrix is built.
public struct GoBuildSettings: Sendable, Hashable {
    /// The Go module root; `go build` runs here.
    public var workspace: String
    /// HOME, GOPATH, GOMODCACHE, TMPDIR (and GOCACHE unless `goCache`) live under it (`_output/local/go`).
    public var goState: String
    /// Extra linker flags, one word each (e.g. the version's `-X` pairs); `-s -w -buildid=` always come first.
    public var ldflags: [String]
    /// GOFLAGS=-mod=<modMode>.
    public var modMode: GoModMode
    /// Build tags (`-tags a,b`).
    public var tags: [String]
    /// `1.19` accepts any 1.19.x, `1.19.8` only that; nil accepts any.
    public var requiredGoVersion: String?
    public var sandbox: SandboxMode
    /// Upper bound of concurrent `go build` invocations.
    public var jobs: Int
    /// A shared GOCACHE; nil means `<goState>/cache`.
    public var goCache: String?
    /// Build one platform's binaries in one `go build` (Go shares the compile work); false builds each alone.
    public var groupPackages: Bool
    /// cgo variables per platform (`CC`, `CXX`, `CGO_CFLAGS`, …) for binaries with `static: false`.
    public var cgo: [Platform: [String: String]]
    /// Count compiled packages for progress (`go build -n` beside `go build -v`); false when nothing shows it.
    public var countsPackages = true

    public init(
        workspace: String, goState: String, ldflags: [String] = [], modMode: GoModMode = .mod, tags: [String] = [],
        requiredGoVersion: String? = nil, sandbox: SandboxMode = .auto, jobs: Int, goCache: String? = nil,
        groupPackages: Bool = true, cgo: [Platform: [String: String]] = [:]
    ) {
        self.workspace = workspace
        self.goState = goState
        self.ldflags = ldflags
        self.modMode = modMode
        self.tags = tags
        self.requiredGoVersion = requiredGoVersion
        self.sandbox = sandbox
        self.jobs = jobs
        self.goCache = goCache
        self.groupPackages = groupPackages
        self.cgo = cgo
    }

    /// What the cgo environment of `platform` depends on, for cache keys: one line, sorted.
    public func cgoLine(for platform: Platform) -> String {
        (cgo[platform] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{0}")
    }
}

/// Progress of a build, delivered as it happens (from several tasks at once).
public enum GoBuildEvent: Sendable, Hashable {
    case started(GoBuildTarget)
    case finished(GoBuildTarget, seconds: Double)
    /// How compilers are sandboxed.
    case sandbox(SandboxStatus)
    /// Packages compiled so far by one platform's `go build`, of how many it planned.
    case progress(WorkProgress)
}

/// What a successful build did.
public struct GoBuildReport: Sendable, Hashable {
    /// How compilers were sandboxed.
    public var sandbox: SandboxStatus
    /// How many `go build` processes ran.
    public var goInvocations: Int
    /// Wall-clock seconds of the whole matrix.
    public var seconds: Double

    public init(sandbox: SandboxStatus, goInvocations: Int, seconds: Double) {
        self.sandbox = sandbox
        self.goInvocations = goInvocations
        self.seconds = seconds
    }
}
