/// What a file of a release is: the one list of kinds that the plan, `artifacts.json`, the SBOM and
/// `kbuild verify` share (each used to spell its own, partly as strings).
public enum ArtifactKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// Kubernetes' platform tarballs: `<project>-<kind>-<os>-<arch>.tar.gz`.
    case client, server, node, test
    /// `<project>.tar.gz`: the version file, the configured trees, the manifests tarball.
    case full
    /// `<project>-src.tar.gz`: the release commit as git tracks it.
    case src
    /// `<project>-manifests.tar.gz`: the add-on manifests.
    case manifests
    /// A docker-archive image tarball under `release-images/<arch>/`.
    case image
    /// The SPDX SBOM, `<project>.spdx.json`.
    case sbom
    /// An archive of a layout configured in `archives:` (tar.gz or zip).
    case archive
    /// A binary shipped as a release asset of its own (`format: binary`).
    case binary

    /// Tarballs of Kubernetes' layout that hold one platform's binaries.
    public var isPlatformTarball: Bool { [.client, .server, .node, .test].contains(self) }

    /// The SPDX `primaryPackagePurpose` of an artifact of this kind.
    public var spdxPurpose: String {
        switch self {
        case .image: return "CONTAINER"
        case .src: return "SOURCE"
        case .sbom: return "FILE"
        case .binary: return "APPLICATION"
        default: return "ARCHIVE"
        }
    }
}
