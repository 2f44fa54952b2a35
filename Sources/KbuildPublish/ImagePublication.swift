import Foundation
import KbuildCore

/// One multi-arch image to publish: every architecture's image of one binary, and the index over
/// them, under `<registry>/<binary>:<tag>`. A pure value: its digests come from the release's bytes.
public struct ImagePublication: Sendable, Hashable {
    public let binary: String
    /// `path/name` inside the registry (the registry's own path, if any, then the binary).
    public let repository: String
    public let tag: String
    /// One per architecture, ordered as the index names them.
    public let images: [ImageArchive]
    public let index: Data
    public let indexDigest: String

    /// `<host>/<repository>:<tag>`, what users pull.
    public func reference(host: String) -> String { "\(host)/\(repository):\(tag)" }

    /// The publications of the release under `output` (its `_output`): the images artifacts.json lists,
    /// one publication per binary, sorted by binary.
    public static func plan(output: String, registry: PublishRegistry, tag: String) throws(PublishError)
        -> [ImagePublication]
    {
        var byBinary: [String: [ImageArchive]] = [:]
        for artifact in try ReleaseImages.list(output: output) {
            let binary = String(artifact.name.dropLast(".tar".count))
            byBinary[binary, default: []].append(try ImageArchive(path: output + "/" + artifact.path))
        }
        return byBinary.keys.sorted().map { binary in
            let index = OCIIndex.over(byBinary[binary] ?? [])
            let bytes = index.bytes
            let byDigest = Dictionary(byBinary[binary, default: []].map { ($0.manifestDigest, $0) }) { a, _ in a }
            return ImagePublication(
                binary: binary, repository: registry.repository(binary), tag: tag,
                images: index.manifests.compactMap { byDigest[$0.digest] }, index: bytes,
                indexDigest: OCIJSON.digest(bytes))
        }
    }

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
