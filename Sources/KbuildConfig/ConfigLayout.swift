import KbuildArtifact
import KbuildCore

extension ReleaseConfig {
    /// One archive of a configured layout (`archives:`), one per platform; replaces Kubernetes' tarballs.
    public struct Archive: Sendable, Hashable, Codable {
        /// A file or tree of the workspace and where it goes inside the archive (under the wrap directory).
        public struct File: Sendable, Hashable, Codable {
            /// Workspace-relative.
            public var source: String
            /// Relative to the archive root (or the wrap directory).
            public var destination: String
            /// A directory: its files, found when staged.
            public var isTree: Bool

            public init(source: String, destination: String, isTree: Bool = false) {
                self.source = source
                self.destination = destination
                self.isTree = isTree
            }
        }

        /// A small file written from a template (e.g. `version` holding `{{version}}`).
        public struct Generated: Sendable, Hashable, Codable {
            public var destination: String
            public var content: NameTemplate

            public init(destination: String, content: NameTemplate) {
                self.destination = destination
                self.content = content
            }
        }

        /// A per-archive checksum file beside it.
        public enum Checksum: String, Sendable, Hashable, Codable, CaseIterable {
            /// `<name>.sha256` / `.sha512`: the digest and a newline.
            case sha256, sha512
            /// `<name>.sha256sum`: `<digest>  <name>` and a newline.
            case sha256sum
        }

        /// The file name without its format's suffix (`.tar.gz`, `.zip`), e.g. `{{project}}-{{bareVersion}}-{{os}}-{{arch}}`.
        public var name: NameTemplate
        /// The binaries it carries, by name, in config order.
        public var binaries: [String]
        /// Its platforms; nil: every configured platform of its binaries' kinds.
        public var platforms: [Platform]?
        public var format: ArchiveFormat
        /// Another format on some operating systems (`windows: zip`).
        public var formatByOS: [String: ArchiveFormat]
        /// A directory everything goes under (`etcd-{{version}}-{{os}}-{{arch}}`); nil: the archive root.
        public var wrap: NameTemplate?
        /// Where each binary goes inside, e.g. `bin/{{binary}}` (`.exe` is added on Windows).
        public var binaryPath: NameTemplate
        public var files: [File]
        public var generated: [Generated]
        public var checksums: [Checksum]

        public init(
            name: NameTemplate, binaries: [String], platforms: [Platform]? = nil, format: ArchiveFormat = .tarGz,
            formatByOS: [String: ArchiveFormat] = [:], wrap: NameTemplate? = nil, binaryPath: NameTemplate,
            files: [File] = [], generated: [Generated] = [], checksums: [Checksum] = []
        ) {
            self.name = name
            self.binaries = binaries
            self.platforms = platforms
            self.format = format
            self.formatByOS = formatByOS
            self.wrap = wrap
            self.binaryPath = binaryPath
            self.files = files
            self.generated = generated
            self.checksums = checksums
        }

        /// The format on `os`.
        public func format(on os: String) -> ArchiveFormat { formatByOS[os] ?? format }
    }

    /// The names of the sums files (`<digest>  <name>` for every archive and the SBOM); nil: not written.
    public struct Sums: Sendable, Hashable, Codable {
        public var sha256: String?
        public var sha512: String?

        public init(sha256: String? = "SHA256SUMS", sha512: String? = "SHA512SUMS") {
            self.sha256 = sha256
            self.sha512 = sha512
        }
    }
}
