import Foundation
import KbuildArtifact
import KbuildConfig
import KbuildCore
import KbuildImage
import KbuildVersion

/// Kubernetes' release layout (build/lib/release.sh), written once as data: every archive with every
/// entry. Stage, pack, the SBOM and `kbuild verify` read these lists; none of them re-derives the layout.
struct KubernetesLayout {
    let config: ReleaseConfig
    let version: VersionInfo
    let sourceDate: SourceDate
    let layout: OutputLayout
    /// The workspace files and trees it carries, walked before planning.
    let listing: WorkspaceListing
    var present: Set<String> { listing.present }

    /// The top-level files the layout carries when they exist: the first license and the first readme.
    static let licenseCandidates = ["LICENSES", "LICENSE"]
    static let readmeCandidates = ["README.md", "README"]

    /// The candidates present in `workspace` (looked up by `WorkspaceListing.read`).
    static func presentFiles(in workspace: String) -> Set<String> {
        Set(
            (licenseCandidates + readmeCandidates).filter {
                FileManager.default.fileExists(atPath: workspace + "/" + $0)
            })
    }

    var project: String { config.project }

    /// src and manifests first (others carry them), the platform tarballs by kind, the full tarball last.
    func archives() -> [PlannedArchive] {
        var archives = [sourceArchive(), manifestsArchive()]
        for kind in ReleaseConfig.Kind.allCases.sorted() where !config.binaries(for: kind).isEmpty {
            for platform in config.platforms(for: kind) {
                archives.append(platformArchive(kind, platform))
            }
        }
        archives.append(fullArchive())
        return archives
    }

    /// Every image: each image binary of the server tarballs, for their linux platforms.
    func images() -> [ReleasePlan.PlannedImage] {
        var images: [ReleasePlan.PlannedImage] = []
        let bare = version.version.hasPrefix("v") ? String(version.version.dropFirst()) : version.version
        for platform in config.platforms(for: .server) where platform.os == "linux" {
            for binary in config.binaries(for: .server) where binary.image {
                var request = ImageRequest(
                    binary: binary.name, binaryPath: layout.binary(binary.name, platform),
                    platform: platform, registry: config.images.registry,
                    tagScheme: config.images.tagScheme == .version ? .version : .md5,
                    version: version.version, archSuffix: config.images.archSuffix,
                    legacyAmd64Name: config.images.legacyAmd64Name,
                    outputDirectory: layout.imageDirectory(arch: platform.arch),
                    created: sourceDate)
                request.name = config.images.name?.render([
                    .project: project, .version: version.version, .bareVersion: bare, .os: platform.os,
                    .arch: platform.arch, .binary: binary.name,
                ])
                images.append(.init(request: request))
            }
        }
        return images
    }

    private func sourceArchive() -> PlannedArchive {
        PlannedArchive(
            name: "\(project)-src.tar.gz", kind: .src, platform: nil, stageDirectory: "src",
            entries: [
                .tree(.gitTree, at: ""),
                .generated(version.versionFile, at: ReleasePlan.sourceVersionFile),
            ])
    }

    private func manifestsArchive() -> PlannedArchive {
        // A workspace without add-ons still gets the tarball (`<project>/addons/`, empty): a stable layout.
        PlannedArchive(
            name: "\(project)-manifests.tar.gz", kind: .manifests, platform: nil, stageDirectory: "manifests",
            entries: [
                ArchiveEntry(path: "\(project)/addons", type: .directory, mode: 0o755, source: .directory)
            ] + listing.addonEntries(at: "\(project)/addons"))
    }

    private func platformArchive(_ kind: ReleaseConfig.Kind, _ platform: Platform) -> PlannedArchive {
        var shipped = config.binaries(for: kind)
        // Kubernetes' server tarballs carry the client binaries too.
        if kind == .server { shipped += config.binaries(for: .client).filter { !$0.kinds.contains(.server) } }
        let bin = "\(project)/\(kind.rawValue)/bin"
        var entries = shipped.map(\.name).sorted().map { name in
            ArchiveEntry.binary(name, platform, at: "\(bin)/\(name)\(platform.executableSuffix)")
        }
        if kind == .server && platform.os == "linux" {
            for name in config.binaries(for: .server).filter(\.image).map(\.name).sorted() {
                entries.append(
                    ArchiveEntry(
                        path: "\(bin)/\(name).tar", mode: 0o644, source: .image(name: name, arch: platform.arch)))
                entries.append(
                    ArchiveEntry(
                        path: "\(bin)/\(name).docker_tag", mode: 0o644,
                        source: .imageTag(name: name, arch: platform.arch)))
            }
        }
        if kind == .server {
            entries += listing.addonEntries(at: "\(project)/addons")
        }
        entries += licenses()
        if kind == .server {
            let src = "\(project)-src.tar.gz"
            entries.append(ArchiveEntry(path: "\(project)/\(src)", mode: 0o644, source: .archive(name: src)))
        }
        return PlannedArchive(
            name: "\(project)-\(kind.rawValue)-\(platform.dashed).tar.gz", kind: artifactKind(kind),
            platform: platform, stageDirectory: "\(kind.rawValue)/\(platform.dashed)", entries: entries)
    }

    private func fullArchive() -> PlannedArchive {
        var entries: [ArchiveEntry] = [.generated(version.version + "\n", at: "\(project)/version")]
        for include in config.full.include {
            entries += listing.entries(of: include, at: "\(project)/\(include)")
        }
        entries += licenses()
        if let readme = Self.readmeCandidates.first(where: present.contains) {
            entries += listing.entries(of: readme, at: "\(project)/\(readme)")
        }
        let manifests = "\(project)-manifests.tar.gz"
        entries.append(
            ArchiveEntry(path: "\(project)/server/\(manifests)", mode: 0o644, source: .archive(name: manifests)))
        return PlannedArchive(
            name: "\(project).tar.gz", kind: .full, platform: nil, stageDirectory: "full", entries: entries)
    }

    /// `LICENSES` (or a `LICENSE` file) as `<project>/LICENSES`.
    private func licenses() -> [ArchiveEntry] {
        guard let license = Self.licenseCandidates.first(where: present.contains) else { return [] }
        return listing.entries(of: license, at: "\(project)/LICENSES")
    }

    private func artifactKind(_ kind: ReleaseConfig.Kind) -> ArtifactKind {
        switch kind {
        case .client: return .client
        case .server: return .server
        case .node: return .node
        case .test: return .test
        }
    }
}
