import Foundation
import KbuildArtifact
import KbuildCore
import KbuildDigest

/// `kbuild plan --json`: the plan as tools read it, schema `schemaVersion` 1 (docs/plan-json.md).
/// Paths are relative to the workspace; fields are only ever added within a schema version.
public struct PlanDocument: Codable, Sendable, Hashable {
    public static let schemaVersion = 1

    public struct Build: Codable, Sendable, Hashable {
        public var binary: String
        public var package: String
        public var platform: String
        public var `static`: Bool
        public var output: String
    }

    public struct Image: Codable, Sendable, Hashable {
        public var binary: String
        public var platform: String
        /// The image's name without the tag (the tag may be the binary's md5, known once it is built).
        public var repository: String
        public var tarball: String
        public var tagFile: String
    }

    /// Where an entry's bytes come from: `kind` says which of the other fields are set.
    public struct Source: Codable, Sendable, Hashable {
        /// binary, image, imageTag, workspaceFile, gitTree, archive, generated, directory (`tree` and
        /// `addons` were written before workspace trees were listed file by file).
        public var kind: String
        public var binary: String?
        public var platform: String?
        /// The file it is read from (workspace-relative), for binaries, images, workspace files and trees.
        public var file: String?
        /// For a file of a workspace tree: the tree's directory as configured (`cluster`, `LICENSES`).
        public var tree: String?
        public var archive: String?
        public var content: String?
    }

    public struct Entry: Codable, Sendable, Hashable {
        public var path: String
        /// file, directory or tree (git's tree of the release commit, under `path`).
        public var type: String
        /// Octal, e.g. `0755`; absent only for a tree, whose files' own executable bits decide.
        public var mode: String?
        public var source: Source
    }

    public struct Archive: Codable, Sendable, Hashable {
        public var name: String
        public var path: String
        public var kind: String
        public var format: String
        public var platform: String?
        public var entries: [Entry]
    }

    public struct Side: Codable, Sendable, Hashable {
        public var name: String
        public var path: String
        public var kind: String
        public var algorithm: String?
        public var of: String?
        public var signedOnly: Bool
    }

    public var schemaVersion: Int
    public var project: String
    public var version: String
    public var versionSource: String
    public var sourceDate: Int64
    public var builds: [Build]
    public var images: [Image]
    public var archives: [Archive]
    public var sideFiles: [Side]

    /// Sorted keys, two-space indentation, a final newline: the same plan gives the same bytes.
    public func encoded() throws -> Data {
        try CanonicalJSON.encode(self)
    }
}

extension ReleasePlan {
    /// The release directory's files as planned, for `kbuild verify`.
    public var releaseLayout: ReleaseLayout {
        ReleaseLayout(project: project, archives: archives, sideFiles: sideFiles)
    }

    /// The plan as `kbuild plan --json` prints it.
    public var document: PlanDocument {
        PlanDocument(
            schemaVersion: PlanDocument.schemaVersion, project: project, version: version.version,
            versionSource: version.source.rawValue, sourceDate: sourceDate.seconds,
            builds: builds.map {
                .init(
                    binary: $0.binary, package: $0.package, platform: $0.platform.description, static: $0.isStatic,
                    output: relative($0.output))
            },
            images: images.map {
                .init(
                    binary: $0.request.binary, platform: $0.request.platform.description,
                    repository: $0.request.repositories.first ?? "", tarball: relative($0.tarball),
                    tagFile: relative($0.tagFile))
            },
            archives: archives.map { archive in
                .init(
                    name: archive.name, path: relative(archivePath(archive)), kind: archive.kind.rawValue,
                    format: archive.format.rawValue, platform: archive.platform?.description,
                    entries: archive.entries.map(documentEntry))
            },
            sideFiles: sideFiles.map {
                .init(
                    name: $0.name, path: relative(layout.releaseTars + "/" + $0.name), kind: $0.kind.rawValue,
                    algorithm: $0.algorithm, of: $0.of, signedOnly: $0.signedOnly)
            })
    }

    private func documentEntry(_ entry: ArchiveEntry) -> PlanDocument.Entry {
        var source = PlanDocument.Source(kind: "")
        switch entry.source {
        case .binary(let name, let platform):
            source = .init(
                kind: "binary", binary: name, platform: platform.description,
                file: relative(layout.binary(name, platform)))
        case .image(let name, let arch):
            source = .init(
                kind: "image", binary: name, platform: "linux/\(arch)",
                file: relative(layout.imageDirectory(arch: arch) + "/\(name).tar"))
        case .imageTag(let name, let arch):
            source = .init(
                kind: "imageTag", binary: name, platform: "linux/\(arch)",
                file: relative(layout.imageDirectory(arch: arch) + "/\(name).docker_tag"))
        case .workspaceFile(let path): source = .init(kind: "workspaceFile", file: path)
        case .treeFile(let path, let tree): source = .init(kind: "workspaceFile", file: path, tree: tree)
        case .gitTree: source = .init(kind: "gitTree")
        case .archive(let name): source = .init(kind: "archive", archive: name)
        case .generated(let content): source = .init(kind: "generated", content: content)
        case .directory: source = .init(kind: "directory")
        }
        return PlanDocument.Entry(
            path: entry.path, type: entry.type.rawValue, mode: entry.mode.map { "0" + String($0, radix: 8) },
            source: source)
    }
}
