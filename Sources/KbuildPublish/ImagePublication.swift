import Foundation
import KbuildCore
import KbuildImage

/// One multi-arch image to publish: every architecture's image of one binary, and the index over
/// them, under `<registry>/<binary>:<tag>` for each of its tags. A pure value: its digests come from the
/// release's bytes.
public struct ImagePublication: Sendable, Hashable {
    public let binary: String
    /// `path/name` inside the registry (the registry's own path, if any, then the binary).
    public let repository: String
    /// The index's tags, none twice: the version tag by default, else `publish.tags` or `--tag`.
    public let tags: [String]
    /// One per architecture, ordered as the index names them.
    public let images: [ImageArchive]
    public let index: Data
    public let indexDigest: String
    /// Each architecture's own names, tagged after the index: the image tarball's RepoTags
    /// (`<bin>-<arch>:<md5>`, Kubernetes' per-arch names) under the publish registry.
    public let archTags: [ArchTag]

    /// One per-architecture name: `repository:tag` → `image`'s manifest.
    public struct ArchTag: Sendable, Hashable {
        public let repository: String
        public let tag: String
        public let image: ImageArchive
    }

    /// The first tag: the one the provenance's image subjects are named by.
    public var tag: String { tags[0] }

    /// `<host>/<repository>:<tag>` of the first tag, what users pull.
    public func reference(host: String) -> String { "\(host)/\(repository):\(tag)" }

    /// `<host>/<repository>:<tag>` of every tag.
    public func references(host: String) -> [String] { tags.map { "\(host)/\(repository):\($0)" } }

    /// The publications of the release under `output` (its `_output`): the images artifacts.json lists,
    /// one publication per binary, sorted by binary, under one tag.
    public static func plan(output: String, registry: PublishRegistry, tag: String) throws(PublishError)
        -> [ImagePublication]
    {
        try plan(output: output, registry: registry, tags: { _ in [tag] })
    }

    /// The same, each binary under the tags `tags` gives it (at least one; repeats dropped).
    public static func plan(output: String, registry: PublishRegistry, tags: (String) -> [String])
        throws(PublishError) -> [ImagePublication]
    {
        let images = try ReleaseImages.list(output: output).map {
            (binary: String($0.name.dropLast(".tar".count)), tarball: output + "/" + $0.path)
        }
        return try group(images, tags: tags, repository: registry.repository)
    }

    /// One publication per binary of `images` (image tarballs by binary), sorted by binary.
    public static func group(
        _ images: [(binary: String, tarball: String)], tag: String, repository: (String) -> String
    ) throws(PublishError) -> [ImagePublication] {
        try group(images, tags: { _ in [tag] }, repository: repository)
    }

    /// The same, each binary under the tags `tags` gives it (at least one; repeats dropped).
    public static func group(
        _ images: [(binary: String, tarball: String)], tags: (String) -> [String], repository: (String) -> String
    ) throws(PublishError) -> [ImagePublication] {
        var byBinary: [String: [ImageArchive]] = [:]
        for image in images {
            byBinary[image.binary, default: []].append(try ImageArchive(path: image.tarball))
        }
        return try byBinary.keys.sorted().map { binary throws(PublishError) in
            var seen: Set<String> = []
            let named = tags(binary).filter { seen.insert($0).inserted }
            for tag in named where !ImageTag.isValid(tag) {
                throw .badTag(binary: binary, tag: tag)
            }
            guard !named.isEmpty else { throw .badTag(binary: binary, tag: "") }
            let index = OCIIndex.over(byBinary[binary] ?? [])
            let bytes = index.bytes
            let byDigest = Dictionary(byBinary[binary, default: []].map { ($0.manifestDigest, $0) }) { a, _ in a }
            let images = index.manifests.compactMap { byDigest[$0.digest] }
            return ImagePublication(
                binary: binary, repository: repository(binary), tags: named, images: images, index: bytes,
                indexDigest: OCIJSON.digest(bytes),
                archTags: archTags(images, multiArch: (repository(binary), Set(named)), repository: repository))
        }
    }

    /// The RepoTags of `images` as names under the publish registry (the build's registry replaced: only
    /// the last path component of each name is kept), without the multi-arch name itself.
    static func archTags(
        _ images: [ImageArchive], multiArch: (String, Set<String>), repository: (String) -> String
    ) -> [ArchTag] {
        var tags: [ArchTag] = []
        var seen: Set<String> = []
        for image in images {
            for repoTag in image.repoTags {
                guard let colon = repoTag.lastIndex(of: ":"), !repoTag[colon...].contains("/") else { continue }
                let name = String(repoTag[..<colon].split(separator: "/").last ?? "")
                let tag = String(repoTag[repoTag.index(after: colon)...])
                let target = repository(name)
                guard !name.isEmpty, !(target == multiArch.0 && multiArch.1.contains(tag)),
                    seen.insert(target + ":" + tag).inserted
                else { continue }
                tags.append(ArchTag(repository: target, tag: tag, image: image))
            }
        }
        return tags
    }

    /// The provenance subjects of this publication, known before any push: the index as
    /// `image:<bin>:<tag>` and each architecture's manifest as `image:<bin>:<tag>:<os>/<arch>[/<variant>]`,
    /// with their sha256 (hex), whatever registry they go to.
    public var subjects: [(name: String, sha256: String)] {
        [("image:\(binary):\(tag)", String(indexDigest.dropFirst("sha256:".count)))]
            + images.map { image in
                let platform = [image.platform.os, image.platform.architecture, image.platform.variant]
                    .compactMap { $0 }.joined(separator: "/")
                return ("image:\(binary):\(tag):\(platform)", String(image.manifestDigest.dropFirst("sha256:".count)))
            }
    }

    /// The prefix of every image subject name.
    public static let subjectPrefix = "image:"

    /// The tag of a version: `+` is not allowed in tags, so `v1.2.3+meta` becomes `v1.2.3_meta`.
    public static func tag(version: String) -> String { version.replacingOccurrences(of: "+", with: "_") }
}

/// Where images go: `host[:port]` and an optional path under it (`localhost:5000/team`).
public struct PublishRegistry: Sendable, Hashable {
    public let host: String
    public let path: String

    /// Parses `host[:port][/path]`; the form is checked by the caller (KbuildImage's `ImageName`).
    public init(_ registry: String) {
        let trimmed = registry.hasSuffix("/") ? String(registry.dropLast()) : registry
        let parts = trimmed.split(separator: "/", maxSplits: 1).map(String.init)
        host = parts.first ?? ""
        path = parts.count > 1 ? parts[1] : ""
    }

    public func repository(_ binary: String) -> String { path.isEmpty ? binary : path + "/" + binary }
}

/// The image entries of a release's artifacts.json.
enum ReleaseImages {
    struct Artifact: Decodable, Hashable {
        var name: String
        var path: String
        var kind: String
        var arch: String?
    }

    static func list(output: String) throws(PublishError) -> [Artifact] {
        let file = output + "/release-tars/artifacts.json"
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .badImage(path: file, reason: "cannot be read")
        }
        guard let all = try? JSONDecoder().decode([Artifact].self, from: data) else {
            throw .badImage(path: file, reason: "not a JSON list of artifacts")
        }
        let images = all.filter { $0.kind == "image" }
        for image in images {
            let parts = image.path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "release-images", image.name.hasSuffix(".tar"),
                parts.allSatisfy({ !$0.isEmpty && $0 != ".." && $0 != "." }), parts[2] == image.name
            else {
                throw .badImage(
                    path: file,
                    reason: "image path \(Escaping.shown(image.path)) is not release-images/<arch>/<bin>.tar")
            }
        }
        return images.sorted { $0.path < $1.path }
    }
}
