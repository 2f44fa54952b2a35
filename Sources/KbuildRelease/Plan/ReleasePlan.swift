import KbuildConfig
import KbuildCore
import KbuildGo
import KbuildImage
import KbuildVersion

/// Everything one release will do, with every final path, computed before anything runs.
/// `kbuild plan` prints it; tests assert on it without running Go.
public struct ReleasePlan: Sendable {
    /// The kind of a release tarball.
    public enum TarballKind: String, Sendable, Codable, CaseIterable {
        case client, server, node, test, full, src, manifests
    }

    /// One image tarball to write.
    public struct PlannedImage: Sendable, Hashable {
        public var request: ImageRequest
        /// Final paths: `_output/release-images/<arch>/<bin>.tar` and `.docker_tag`.
        public var tarball: String { request.tarballPath }
        public var tagFile: String { request.dockerTagPath }
    }

    /// One release tarball: its name, what kind it is, and for platform tarballs the platform.
    public struct PlannedTarball: Sendable, Hashable {
        public var name: String
        public var kind: TarballKind
        public var platform: Platform?
        /// Binaries shipped under `<project>/<kind>/bin/` (server tarballs also carry client binaries).
        public var binaries: [String]
        /// Images (binary names) whose `.tar` and `.docker_tag` go into `server/bin/`.
        public var images: [String]
    }

    public var project: String
    public var workspace: String
    public var layout: OutputLayout
    public var version: VersionInfo
    public var sourceDate: SourceDate
    public var config: ReleaseConfig
    /// Every `go build`, sorted by platform then binary.
    public var builds: [GoBuildTarget]
    /// Every image, sorted by arch then binary.
    public var images: [PlannedImage]
    /// Every tarball, in the order they are listed (nested ones first).
    public var tarballs: [PlannedTarball]

    /// `_output/release-tars/<name>`.
    public func tarballPath(_ tarball: PlannedTarball) -> String { layout.releaseTars + "/" + tarball.name }

    /// The Go `-ldflags` words that stamp the version into the variables of `config.version.stamp`.
    public var versionLDFlags: [String] { version.ldflags(config.version.stamp) }
}

/// Computes a `ReleasePlan`: pure, no processes, no file system.
public enum ReleasePlanner {
    /// The plan for `config` in `workspace` (platforms already narrowed by the environment).
    public static func plan(
        config: ReleaseConfig, version: VersionInfo, sourceDate: SourceDate, workspace: String,
        layout: OutputLayout? = nil
    ) -> ReleasePlan {
        let layout = layout ?? OutputLayout(workspace: workspace)
        let project = config.project
        var builds: Set<GoBuildTarget> = []
        func build(_ binary: ReleaseConfig.Binary, _ platform: Platform) {
            builds.insert(
                GoBuildTarget(
                    binary: binary.name, package: binary.package, platform: platform, isStatic: binary.isStatic,
                    output: layout.binary(binary.name, platform)))
        }

        var tarballs: [ReleasePlan.PlannedTarball] = [
            .init(name: "\(project)-src.tar.gz", kind: .src, platform: nil, binaries: [], images: []),
            .init(name: "\(project)-manifests.tar.gz", kind: .manifests, platform: nil, binaries: [], images: []),
        ]
        var images: [ReleasePlan.PlannedImage] = []
        let clientBinaries = config.binaries(for: .client)

        for kind in [ReleaseConfig.Kind.client, .server, .node, .test] {
            let shipped = config.binaries(for: kind)
            guard !shipped.isEmpty else { continue }
            for platform in config.platforms(for: kind) {
                var binaries = shipped
                // Kubernetes' server tarballs carry the client binaries too.
                if kind == .server {
                    binaries += clientBinaries.filter { !$0.kinds.contains(.server) }
                }
                binaries.forEach { build($0, platform) }
                var imageNames: [String] = []
                if kind == .server && platform.os == "linux" {
                    for binary in shipped where binary.image {
                        imageNames.append(binary.name)
                        images.append(
                            .init(
                                request: ImageRequest(
                                    binary: binary.name, binaryPath: layout.binary(binary.name, platform),
                                    platform: platform, registry: config.images.registry,
                                    tagScheme: config.images.tagScheme == .version ? .version : .md5,
                                    version: version.version, archSuffix: config.images.archSuffix,
                                    legacyAmd64Name: config.images.legacyAmd64Name,
                                    outputDirectory: layout.imageDirectory(arch: platform.arch),
                                    created: sourceDate)))
                    }
                }
                tarballs.append(
                    .init(
                        name: "\(project)-\(kind.rawValue)-\(platform.dashed).tar.gz", kind: tarballKind(kind),
                        platform: platform, binaries: binaries.map(\.name).sorted(), images: imageNames.sorted()))
            }
        }
        tarballs.append(.init(name: "\(project).tar.gz", kind: .full, platform: nil, binaries: [], images: []))

        return ReleasePlan(
            project: project, workspace: workspace, layout: layout, version: version, sourceDate: sourceDate,
            config: config,
            builds: builds.sorted { ($0.platform, $0.binary) < ($1.platform, $1.binary) },
            images: images.sorted {
                ($0.request.platform, $0.request.binary) < ($1.request.platform, $1.request.binary)
            },
            tarballs: tarballs)
    }

    private static func tarballKind(_ kind: ReleaseConfig.Kind) -> ReleasePlan.TarballKind {
        switch kind {
        case .client: return .client
        case .server: return .server
        case .node: return .node
        case .test: return .test
        }
    }
}

extension ReleasePlan {
    /// Every config value that shapes the tarballs, as stable text (no Set iteration order), for cache keys.
    var configFingerprint: String {
        var lines = [
            "project \(config.project)", "package \(config.version.package)", "base \(config.version.baseFile)",
            "addons \(config.addons.dirs.joined(separator: ","))",
            "exclude \(config.addons.exclude.joined(separator: ","))",
            "full \(config.full.include.joined(separator: ","))", "images.base \(config.images.base ?? "scratch")",
        ]
        for binary in config.binaries {
            lines.append(
                "binary \(binary.name) \(binary.package) \(binary.kinds.map(\.rawValue).sorted()) \(binary.isStatic) \(binary.image)"
            )
        }
        return lines.joined(separator: "\n")
    }
}

extension ReleasePlan {
    /// The version file at the root of the src tarball: `kbuild version` reads it where there is no git.
    public static let sourceVersionFile = VersionResolver.embeddedVersionFile
}
