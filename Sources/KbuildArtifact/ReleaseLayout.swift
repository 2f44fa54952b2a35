/// The files of one release directory as the plan names them: what `kbuild verify` checks against.
public struct ReleaseLayout: Codable, Sendable, Hashable {
    public var project: String
    /// Every archive with every entry.
    public var archives: [PlannedArchive]
    /// Every other file: digests, sums, artifacts.json, SBOM, provenance, signature.
    public var sideFiles: [SideFile]

    public init(project: String, archives: [PlannedArchive], sideFiles: [SideFile]) {
        self.project = project
        self.archives = archives
        self.sideFiles = sideFiles
    }

    /// The sums file of `algorithm` (`sha256`, `sha512`), if the layout writes one.
    public func sums(_ algorithm: String) -> String? {
        sideFiles.first { $0.kind == .sums && $0.algorithm == algorithm }?.name
    }

    /// The signature of the sha256 sums.
    public var signature: String? { sideFiles.first { $0.kind == .signature }?.name }

    /// True for Kubernetes' layout (its tarball kinds), false for a configured one.
    public var isKubernetes: Bool { archives.allSatisfy { $0.kind != .archive && $0.kind != .binary } }
}
