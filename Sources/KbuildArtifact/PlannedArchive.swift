import KbuildCore

/// How an archive of the release is written.
public enum ArchiveFormat: String, Codable, Sendable, Hashable, CaseIterable {
    /// A tar stream in parallel gzip members (libdeflate): the Kubernetes layout's only format.
    case tarGz = "tar.gz"
    /// A zip archive.
    case zip
    /// The binary itself, uncompressed, as the release asset.
    case binary

    /// The file name suffix (`.tar.gz`, `.zip`; a binary keeps its own name).
    public var suffix: String {
        switch self {
        case .tarGz: return ".tar.gz"
        case .zip: return ".zip"
        case .binary: return ""
        }
    }
}

/// Where the bytes of one archive entry come from.
public enum EntrySource: Codable, Sendable, Hashable {
    /// A Go binary the release builds (`_output/local/bin/<os>/<arch>/<name>`).
    case binary(name: String, platform: Platform)
    /// An image tarball the release writes (`_output/release-images/<arch>/<name>.tar`).
    case image(name: String, arch: String)
    /// The `.docker_tag` beside an image tarball: its tag and a newline.
    case imageTag(name: String, arch: String)
    /// One file of the workspace (relative path), named in the config or found at its top.
    case workspaceFile(path: String)
    /// One file of a workspace tree the layout carries (`full.include`, `LICENSES/`, an archive's
    /// `files` directory, an `addons.dirs` directory), listed by the planner: `path` is the file's,
    /// `tree` the directory it was found under, both workspace-relative.
    case treeFile(path: String, tree: String)
    /// The release commit as git tracks it, plus the version file (the src tarball).
    case gitTree
    /// Another archive of this release, by name: packed first, then carried inside.
    case archive(name: String)
    /// A small file whose content the plan holds (e.g. the version and a newline).
    case generated(content: String)
    /// A directory the layout always has, even when nothing goes in it.
    case directory
}

/// One entry of an archive: where it goes inside, what it is, and where its bytes come from.
public struct ArchiveEntry: Codable, Sendable, Hashable {
    public enum EntryType: String, Codable, Sendable, Hashable {
        /// One regular file.
        case file
        /// One directory.
        case directory
        /// Files found when packed, under `path`: only git's tree of the release commit (the src
        /// tarball), which the plan does not list file by file (that would read the whole commit).
        case tree
    }

    /// The path inside the archive (for a tree: where its files go; `""` is the archive root).
    public var path: String
    public var type: EntryType
    /// The entry's mode (0755 or 0644 for files, as the workspace file is executable or not); nil only
    /// for a tree, whose files keep 0755 when executable, else 0644.
    public var mode: UInt16?
    public var source: EntrySource

    public init(path: String, type: EntryType = .file, mode: UInt16?, source: EntrySource) {
        self.path = path
        self.type = type
        self.mode = mode
        self.source = source
    }

    /// A built binary: 0755.
    public static func binary(_ name: String, _ platform: Platform, at path: String) -> ArchiveEntry {
        ArchiveEntry(path: path, mode: 0o755, source: .binary(name: name, platform: platform))
    }

    /// A file whose bytes the plan holds: 0644.
    public static func generated(_ content: String, at path: String) -> ArchiveEntry {
        ArchiveEntry(path: path, mode: 0o644, source: .generated(content: content))
    }

    /// A workspace file, as executable or not when planned: 0755 or 0644.
    public static func workspace(_ source: EntrySource, executable: Bool, at path: String) -> ArchiveEntry {
        ArchiveEntry(path: path, mode: executable ? 0o755 : 0o644, source: source)
    }

    /// Git's tree of the release commit, whose files are found when packed.
    public static func tree(_ source: EntrySource, at path: String) -> ArchiveEntry {
        ArchiveEntry(path: path, type: .tree, mode: nil, source: source)
    }
}

/// One archive of the release: its name, kind, format, platform and every entry.
public struct PlannedArchive: Codable, Sendable, Hashable {
    /// The file name in `release-tars`.
    public var name: String
    public var kind: ArtifactKind
    public var format: ArchiveFormat
    public var platform: Platform?
    /// Where it is staged, relative to `release-stage`.
    public var stageDirectory: String
    /// Every entry, in the order they are staged.
    public var entries: [ArchiveEntry]

    public init(
        name: String, kind: ArtifactKind, format: ArchiveFormat = .tarGz, platform: Platform?,
        stageDirectory: String, entries: [ArchiveEntry]
    ) {
        self.name = name
        self.kind = kind
        self.format = format
        self.platform = platform
        self.stageDirectory = stageDirectory
        self.entries = entries
    }

    /// The archives of this release this one carries (packed before it).
    public var nestedArchives: [String] {
        entries.compactMap { if case .archive(let name) = $0.source { name } else { nil } }
    }

    /// The built binaries it carries, as `(name, platform)`.
    public var builtBinaries: [(name: String, platform: Platform)] {
        entries.compactMap { if case .binary(let name, let platform) = $0.source { (name, platform) } else { nil } }
    }

    /// The names of the binaries it carries.
    public var binaries: [String] { builtBinaries.map(\.name) }

    /// The names of the image binaries whose tarballs it carries.
    public var images: [String] {
        entries.compactMap { if case .image(let name, _) = $0.source { name } else { nil } }
    }
}
