import Foundation
import KbuildArtifact
import KbuildCore
import KbuildGo
import KbuildImage
import KbuildVersion

/// The release of one Go workspace, as declared in `release/kbuild.yaml` and fully validated.
public struct ReleaseConfig: Sendable, Hashable, Codable {
    /// Where the config lives inside a workspace.
    public static let defaultPath = "release/kbuild.yaml"

    /// Which tarball family a binary ships in.
    public enum Kind: String, Sendable, Codable, CaseIterable, Comparable, CodingKeyRepresentable {
        case client, server, node, test

        /// The order tarball families are listed in: client, server, node, test.
        private var rank: Int {
            switch self {
            case .client: return 0
            case .server: return 1
            case .node: return 2
            case .test: return 3
            }
        }

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rank < rhs.rank }
    }

    /// One Go binary of the release.
    public struct Binary: Sendable, Hashable, Codable {
        /// The file name of the built binary (`.exe` is added on Windows).
        public var name: String
        /// The Go package to build, as written in the config (`./cmd/x` or `example.com/mod/cmd/x`).
        public var package: String
        /// The tarball families it ships in.
        public var kinds: Set<Kind>
        /// Built with `CGO_ENABLED=0`.
        public var isStatic: Bool
        /// Also wrapped into a docker image tarball (server binaries on linux only).
        public var image: Bool

        public init(name: String, package: String, kinds: Set<Kind>, isStatic: Bool = true, image: Bool = false) {
            self.name = name
            self.package = package
            self.kinds = kinds
            self.isStatic = isStatic
            self.image = image
        }

        /// `kinds`, in the order client, server, node, test.
        public var sortedKinds: [Kind] { kinds.sorted() }
    }

    /// How image tags are derived.
    public enum TagScheme: String, Sendable, Codable, CaseIterable {
        /// Lowercase hex md5 of the binary: the classic Kubernetes scheme.
        case md5
        /// The release version with `+` replaced by `_`.
        case version
    }

    /// Image tarball settings.
    public struct Images: Sendable, Hashable, Codable {
        /// The registry and path prefix of image names, e.g. `registry.k8s.io`.
        public var registry: String
        /// How the tag is derived.
        public var tagScheme: TagScheme
        /// Name images `<bin>-<arch>` (true) or `<bin>` (false).
        public var archSuffix: Bool
        /// Also tag amd64 images with the archless legacy name `<registry>/<bin>:<tag>`.
        public var legacyAmd64Name: Bool
        /// Absolute path of a base image tarball (docker-archive or OCI layout); nil for `scratch`.
        public var base: String?
        /// The repository name under the registry as a template (`{{project}}-{{binary}}`); nil: `<bin>[-<arch>]`.
        public var name: NameTemplate?

        public init(
            registry: String = Images.defaultRegistry, tagScheme: TagScheme = .md5, archSuffix: Bool = true,
            legacyAmd64Name: Bool = false, base: String? = nil
        ) {
            self.registry = registry
            self.tagScheme = tagScheme
            self.archSuffix = archSuffix
            self.legacyAmd64Name = legacyAmd64Name
            self.base = base
        }

        /// Kubernetes' registry.
        public static let defaultRegistry = "registry.k8s.io"
    }

    /// How `go build` resolves modules (`-mod=`): the builder's own type, passed through unchanged.
    public typealias ModMode = GoModMode

    /// Go toolchain settings.
    public struct Go: Sendable, Hashable, Codable {
        /// The required toolchain version prefix (`1.19` accepts `1.19.8`); nil accepts any.
        public var version: String?
        /// Extra words appended to `-ldflags`.
        public var ldflags: [String]
        /// `-mod=` mode.
        public var mod: ModMode
        /// Build tags (`-tags`).
        public var tags: [String]

        public init(version: String? = nil, ldflags: [String] = [], mod: ModMode = .mod, tags: [String] = []) {
            self.version = version
            self.ldflags = ldflags
            self.mod = mod
            self.tags = tags
        }

        /// True when `toolchainVersion` (e.g. `1.19.8`) satisfies `version` (e.g. `1.19`): the builder's own rule.
        public func accepts(toolchainVersion: String) -> Bool {
            version.map { GoToolchain.version(toolchainVersion, matches: $0) } ?? true
        }
    }

    /// Where the version is stamped and read.
    public struct VersionSettings: Sendable, Hashable, Codable {
        /// The Go package receiving `-X <package>.gitVersion=…` and friends.
        public var package: String
        /// The base.go fallback, relative to the workspace.
        public var baseFile: String
        /// How `git describe` becomes the version.
        public var style: VersionStyle

        /// Which variables receive which version fields; Kubernetes' six names in `package` by default.
        public var stamp: VersionStamp

        public init(
            package: String, baseFile: String = VersionSettings.defaultBaseFile, style: VersionStyle = .semver,
            stamp: VersionStamp? = nil
        ) {
            self.package = package
            self.baseFile = baseFile
            self.style = style
            self.stamp = stamp ?? .kubernetes(package: package)
        }

        /// Every `package.variable` the release stamps; ldflags of the user must leave these alone.
        public var ownedVariables: [String] { stamp.ownedVariables }

        /// Kubernetes' base.go location.
        public static let defaultBaseFile = VersionResolver.defaultBaseFile
    }

    /// The add-on manifests (manifests tarball and server tarballs' `addons/`).
    public struct Addons: Sendable, Hashable, Codable {
        /// Directories, relative to the workspace, searched for `*.yaml`, `*.yaml.in`, `*.json`.
        public var dirs: [String]
        /// Glob patterns over workspace-relative paths (`*`, `?`, `**`) of files to leave out.
        public var exclude: [String]

        public init(dirs: [String] = [], exclude: [String] = []) {
            self.dirs = dirs
            self.exclude = exclude
        }

        /// True when the workspace-relative `path` matches one of `exclude`.
        public func excludes(_ path: String) -> Bool {
            exclude.contains { Glob.matches(pattern: $0, path: path) }
        }
    }

    /// Extra content of the full tarball.
    public struct Full: Sendable, Hashable, Codable {
        /// Workspace-relative files and directories copied under `<project>/`.
        public var include: [String]

        public init(include: [String] = []) {
            self.include = include
        }
    }

    /// The name used in tarball names (`<project>-server-linux-amd64.tar.gz`).
    public var project: String
    public var version: VersionSettings
    public var go: Go
    /// The platforms of each kind, each list sorted and without duplicates.
    public var platformsByKind: [Kind: [Platform]]
    /// The binaries, in config order.
    public var binaries: [Binary]
    public var images: Images
    public var addons: Addons
    public var full: Full
    /// Where else outputs may come from (a shared remote cache).
    public var cache: Cache
    /// cgo variables per platform (`CC`, `CXX`, `AR`, `CGO_CFLAGS`, …) for binaries with `static: false`.
    public var cgo: [Platform: [String: String]]
    /// A configured layout (`archives:`); nil: Kubernetes' tarballs.
    public var archives: [Archive]?
    /// The names of the sums files.
    public var sums: Sums
    /// Where `kbuild publish` sends the release.
    public var publish = Publish()

    public init(
        project: String = "kubernetes", version: VersionSettings, go: Go = Go(),
        platformsByKind: [Kind: [Platform]], binaries: [Binary], images: Images = Images(),
        addons: Addons = Addons(), full: Full = Full(), cache: Cache = Cache(), cgo: [Platform: [String: String]] = [:],
        archives: [Archive]? = nil, sums: Sums = Sums()
    ) {
        self.project = project
        self.version = version
        self.go = go
        self.platformsByKind = platformsByKind.mapValues { Array(Set($0)).sorted() }
        self.binaries = binaries
        self.images = images
        self.addons = addons
        self.full = full
        self.cache = cache
        self.cgo = cgo
        self.archives = archives
        self.sums = sums
    }

    /// The platforms of `kind`, sorted.
    public func platforms(for kind: Kind) -> [Platform] {
        platformsByKind[kind] ?? []
    }

    /// The binaries shipping in `kind`, in config order.
    public func binaries(for kind: Kind) -> [Binary] {
        binaries.filter { $0.kinds.contains(kind) }
    }

    /// Every platform anything is built for, sorted.
    public var allPlatforms: [Platform] {
        Set(platformsByKind.values.joined()).sorted()
    }

    /// Kubernetes' default platform lists (hack/lib/golang.sh), used for kinds the config leaves out.
    public static let defaultPlatforms: [Kind: [Platform]] = {
        let server = ["linux/amd64", "linux/arm", "linux/arm64", "linux/s390x", "linux/ppc64le"]
        let lists: [Kind: [String]] = [
            .server: server,
            .node: server + ["windows/amd64"],
            .client: server + [
                "linux/386", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/386", "windows/arm64",
            ],
            .test: server + ["darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"],
        ]
        return lists.mapValues { $0.compactMap(Platform.init).sorted() }
    }()

    /// `go tool dist list` of Go 1.19: the fallback when no Go toolchain can be asked.
    public static let knownPlatforms: Set<Platform> = Set(
        """
        aix/ppc64 android/386 android/amd64 android/arm android/arm64 darwin/amd64 darwin/arm64 \
        dragonfly/amd64 freebsd/386 freebsd/amd64 freebsd/arm freebsd/arm64 illumos/amd64 ios/amd64 \
        ios/arm64 js/wasm linux/386 linux/amd64 linux/arm linux/arm64 linux/loong64 linux/mips \
        linux/mips64 linux/mips64le linux/mipsle linux/ppc64 linux/ppc64le linux/riscv64 linux/s390x \
        netbsd/386 netbsd/amd64 netbsd/arm netbsd/arm64 openbsd/386 openbsd/amd64 openbsd/arm \
        openbsd/arm64 openbsd/mips64 plan9/386 plan9/amd64 plan9/arm solaris/amd64 windows/386 \
        windows/amd64 windows/arm windows/arm64
        """.split(separator: " ").compactMap { Platform(String($0)) })
}

extension ReleaseConfig {
    /// This config narrowed and overridden by Kubernetes' environment conventions:
    /// `KUBE_BUILD_PLATFORMS="linux/amd64 darwin/arm64"` keeps only those platforms (each must be configured),
    /// else `KUBE_FASTBUILD=true` keeps only `host`; `KUBE_DOCKER_REGISTRY` replaces `images.registry`.
    /// `hostOnly` (the CLI's `--quick`) does what `KUBE_FASTBUILD=true` does.
    public func applyingEnvironment(_ environment: [String: String], host: Platform, hostOnly: Bool = false) throws
        -> ReleaseConfig
    {
        var result = self
        let configured = allPlatforms
        let configuredList = configured.map(\.description).joined(separator: ", ")

        let requested = environment["KUBE_BUILD_PLATFORMS", default: ""]
        let fast = environment["KUBE_FASTBUILD", default: ""]
        let fastOn: Bool
        switch fast.lowercased() {
        case "true", "1": fastOn = true
        case "false", "0", "": fastOn = false
        default:
            throw ConfigError.environment(
                variable: "KUBE_FASTBUILD", value: fast, message: "expected true or false")
        }

        if !requested.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            var wanted = Set<Platform>()
            for word in requested.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "," }) {
                guard let platform = Platform(String(word)) else {
                    throw ConfigError.environment(
                        variable: "KUBE_BUILD_PLATFORMS", value: requested,
                        message:
                            "\"\(word)\" is not an os/arch platform; expected space-separated platforms like linux/amd64"
                    )
                }
                guard configured.contains(platform) else {
                    throw ConfigError.environment(
                        variable: "KUBE_BUILD_PLATFORMS", value: requested,
                        message: "platform \(platform) is not in the release config; configured: \(configuredList)")
                }
                wanted.insert(platform)
            }
            result.platformsByKind = platformsByKind.mapValues { $0.filter(wanted.contains) }
        } else if fastOn || hostOnly {
            guard configured.contains(host) else {
                throw ConfigError.environment(
                    variable: fastOn ? "KUBE_FASTBUILD" : "--quick", value: fastOn ? fast : "true",
                    message: "the host platform \(host) is not in the release config; configured: \(configuredList)")
            }
            result.platformsByKind = platformsByKind.mapValues { $0.filter { $0 == host } }
        }

        if let registry = environment["KUBE_DOCKER_REGISTRY"], !registry.isEmpty {
            if let problem = ImageName.registryProblem(registry) {
                throw ConfigError.environment(variable: "KUBE_DOCKER_REGISTRY", value: registry, message: problem)
            }
            result.images.registry = registry
        }
        return result
    }
}
