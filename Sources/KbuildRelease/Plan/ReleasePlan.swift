import Foundation
import KbuildArtifact
import KbuildConfig
import KbuildCore
import KbuildDigest
import KbuildGo
import KbuildImage
import KbuildProof
import KbuildVersion

/// Everything one release will do, with every final path, computed before anything runs.
/// `kbuild plan` prints it; tests assert on it without running Go.
public struct ReleasePlan: Sendable {
    /// One image tarball to write.
    public struct PlannedImage: Sendable, Hashable {
        public var request: ImageRequest
        /// Final paths: `_output/release-images/<arch>/<bin>.tar` and `.docker_tag`.
        public var tarball: String { request.tarballPath }
        public var tagFile: String { request.dockerTagPath }
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
    /// Every archive with every entry, in the order they are listed (nested ones first).
    public var archives: [PlannedArchive]
    /// Every file of `release-tars` beside the archives: digests, sums, artifacts.json, SBOM, provenance.
    public var sideFiles: [SideFile]

    /// `_output/release-tars/<name>`.
    public func archivePath(_ archive: PlannedArchive) -> String { layout.releaseTars + "/" + archive.name }

    /// The Go `-ldflags` words that stamp the version into the variables of `config.version.stamp`.
    public var versionLDFlags: [String] { version.ldflags(config.version.stamp) }
}

/// Computes a `ReleasePlan`: pure, no processes; the only file-system facts it uses are the workspace
/// files and trees its archives carry (`listing`, walked first when not given).
public enum ReleasePlanner {
    /// The plan for `config` in `workspace` (platforms already narrowed by the environment).
    public static func plan(
        config: ReleaseConfig, version: VersionInfo, sourceDate: SourceDate, workspace: String,
        layout: OutputLayout? = nil, listing given: WorkspaceListing? = nil
    ) throws(ReleaseError) -> ReleasePlan {
        let layout = layout ?? OutputLayout(workspace: workspace)
        let listing: WorkspaceListing
        if let given {
            listing = given
        } else {
            listing = try WorkspaceListing.read(config: config, workspace: workspace)
        }
        let kubernetes = KubernetesLayout(
            config: config, version: version, sourceDate: sourceDate, layout: layout, listing: listing)
        let configured = config.archives.map {
            ConfiguredLayout(config: config, version: version, archives: $0, listing: listing)
        }
        let archives: [PlannedArchive]
        let sideFiles: [SideFile]
        if let configured {
            (archives, sideFiles) = configured.planned()
        } else {
            archives = kubernetes.archives()
            sideFiles = kubernetesSideFiles(config: config, archives: archives)
        }
        var builds: Set<GoBuildTarget> = []
        let byName = Dictionary(config.binaries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for archive in archives {
            for (name, platform) in archive.builtBinaries {
                guard let binary = byName[name] else { continue }
                builds.insert(
                    GoBuildTarget(
                        binary: binary.name, package: binary.package, platform: platform, isStatic: binary.isStatic,
                        output: layout.binary(binary.name, platform)))
            }
        }
        return ReleasePlan(
            project: config.project, workspace: workspace, layout: layout, version: version, sourceDate: sourceDate,
            config: config,
            builds: builds.sorted { ($0.platform, $0.binary) < ($1.platform, $1.binary) },
            images: kubernetes.images().sorted {
                ($0.request.platform, $0.request.binary) < ($1.request.platform, $1.request.binary)
            },
            archives: archives, sideFiles: sideFiles)
    }

    /// Kubernetes' side files: every archive and the SBOM get `.sha256`/`.sha512`; then the documents.
    static func kubernetesSideFiles(config: ReleaseConfig, archives: [PlannedArchive]) -> [SideFile] {
        let project = config.project
        var files: [SideFile] = []
        for summed in archives.map(\.name) + [SBOM.fileName(project: project)] {
            for algorithm in ["sha256", "sha512"] {
                files.append(SideFile(name: "\(summed).\(algorithm)", kind: .digest, algorithm: algorithm, of: summed))
            }
        }
        return files + documents(project: project, sums: config.sums)
    }

    /// The SBOM, the sums files, artifacts.json, the provenance and the signature of the sha256 sums.
    static func documents(project: String, sums: ReleaseConfig.Sums) -> [SideFile] {
        var files = [SideFile(name: SBOM.fileName(project: project), kind: .sbom)]
        for (name, algorithm) in [(sums.sha256, "sha256"), (sums.sha512, "sha512")] {
            if let name { files.append(SideFile(name: name, kind: .sums, algorithm: algorithm)) }
        }
        files += [
            SideFile(name: "artifacts.json", kind: .artifactList),
            SideFile(name: Provenance.fileName(project: project), kind: .provenance),
            SideFile(name: (sums.sha256 ?? "SHA256SUMS") + ".sig", kind: .signature, signedOnly: true),
        ]
        return files
    }
}

extension ReleasePlan {
    /// The sha256 of the plan's canonical JSON (`kbuild plan --json`, sorted keys): every build, image,
    /// archive with every entry and side file, so a cache key changes with any of them and with nothing
    /// else (no display text, no hand-kept list of config fields).
    var documentDigest: String {
        let data = (try? document.encoded()) ?? Data()
        return Digest.of(data, .sha256).hex
    }
}

extension ReleasePlan {
    /// The version file at the root of the src tarball: `kbuild version` reads it where there is no git.
    public static let sourceVersionFile = VersionResolver.embeddedVersionFile
}
