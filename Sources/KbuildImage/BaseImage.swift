import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest

/// A base image read from a local docker-archive (`docker save`) or OCI-layout (`oci-archive`) tarball,
/// with every blob checked against its digest and every layer entry checked to stay inside the image root.
///
/// Entry rules: absolute entry paths and paths that climb above the root (`../`) are rejected; symlinks
/// with an absolute target are accepted (runtimes resolve them inside the image root, and images such as
/// busybox are full of them), symlinks with a relative target that climbs above the root are rejected;
/// hardlinks must name a relative path inside the root.
///
/// Layers are kept as uncompressed files under the `scratch` directory given to `load`, which must live
/// as long as the `BaseImage` is used to write images.
public struct BaseImage: Sendable, Hashable {
    /// One layer, uncompressed, ready to copy into a docker-archive unchanged.
    public struct Layer: Sendable, Hashable {
        /// The uncompressed layer tar under the scratch directory.
        public var file: String
        /// sha256 of the uncompressed bytes: the layer's diff_id and its blob digest in our tarballs.
        public var diffID: Digest
        public var size: Int64
    }

    /// One platform's image inside the base tarball.
    public struct Image: Sendable, Hashable {
        public var os: String
        public var architecture: String
        public var variant: String?
        public var layers: [Layer]
        /// The base config's environment, user and working directory, kept for images built on it.
        public var env: [String]?
        public var user: String?
        public var workingDir: String?
        var history: [ImageConfig.History]

        /// `os/arch[/variant]`.
        public var platformName: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }
    }

    /// The base tarball's path, for messages.
    public let path: String
    /// Every image found, in the tarball's order.
    public let images: [Image]

    /// Reads and verifies the base image tarball at `path`, unpacking what it needs under `scratch`.
    public static func load(path: String, scratch: String) throws -> BaseImage {
        var loader = try Loader(path: path, scratch: scratch)
        let images = try loader.images()
        guard !images.isEmpty else { throw ImageError.invalidBase(base: path, reason: "holds no image") }
        return BaseImage(path: path, images: images)
    }

    /// The image for `platform`: same os and architecture, the platform's variant preferred.
    public func image(for platform: Platform) throws(ImageError) -> Image {
        let candidates = images.filter { $0.os == platform.os && $0.architecture == platform.arch }
        if let exact = candidates.first(where: { $0.variant == platform.ociVariant }) { return exact }
        if let plain = candidates.first(where: { $0.variant == nil }) { return plain }
        if platform.arch != "arm", let any = candidates.first { return any }
        throw .baseMissingPlatform(
            base: path,
            platform: [platform.os, platform.arch, platform.ociVariant].compactMap { $0 }.joined(separator: "/"),
            available: images.map(\.platformName))
    }
}

/// Reads the outer tarball once into scratch files, then follows manifest.json or index.json.
private struct Loader {
    struct Member {
        var file: String
        var sha256: Digest
        var size: Int64
    }

    let path: String
    let scratch: String
    var files: [String: Member] = [:]
    var links: [String: String] = [:]
    /// Layers already verified, by the scratch file they came from.
    var verified: [String: BaseImage.Layer] = [:]
    var counter = 0

    init(path: String, scratch: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        } catch {
            throw ImageError.output(
                path: scratch, reason: "cannot create scratch directory: \(Escaping.reason(of: error))")
        }
        self.scratch = scratch
        do {
            let reader = try TarReader(path: path)
            while let header = try reader.next() {
                let name = Self.normalize(header.path)
                switch header.kind {
                case .file:
                    counter += 1
                    let file = scratch + "/member-\(counter)"
                    let sha256 = try reader.extract(to: file)
                    files[name] = Member(file: file, sha256: sha256, size: header.size)
                case .symlink:
                    let target = header.linkTarget ?? ""
                    let parent = Paths.parent(of: name)
                    links[name] = Self.normalize(
                        target.hasPrefix("/") || parent.isEmpty ? target : parent + "/" + target)
                case .hardlink:
                    links[name] = Self.normalize(header.linkTarget ?? "")
                case .directory, .other:
                    continue
                }
            }
        } catch let error as ArchiveError {
            // The path is already in the message once: keep libarchive's reason only.
            let detail: String
            switch error {
            case .library(let operation, _, let message): detail = "\(operation) failed: \(message)"
            case .corrupt(_, let reason): detail = reason
            default: detail = error.description
            }
            throw ImageError.invalidBase(
                base: path,
                reason:
                    "not a readable tarball (\(detail)); allowed: a docker-archive (docker save) or OCI-layout tarball")
        }
    }

    /// `./a//b/../c` → `a/c` (relative to the archive root; `..` at the root stays at the root).
    static func normalize(_ name: String) -> String {
        var parts: [Substring] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }

    func member(_ name: String) throws(ImageError) -> Member {
        var current = Self.normalize(name)
        for _ in 0..<16 {
            if let member = files[current] { return member }
            guard let next = links[current] else { break }
            current = next
        }
        throw .invalidBase(base: path, reason: "the tarball has no file '\(name)'")
    }

    func json<T: Decodable>(_ type: T.Type, _ member: Member, name: String) throws(ImageError) -> T {
        // Checked first: Foundation leaks a read buffer on every empty file (found by hack/fuzz).
        guard member.size > 0 else {
            throw .invalidBase(base: path, reason: "\(name) is empty; expected a JSON document")
        }
        guard member.size <= 16 << 20, let data = FileManager.default.contents(atPath: member.file) else {
            throw .invalidBase(base: path, reason: "\(name) is too large or unreadable for a JSON document")
        }
        do {
            return try ImageJSON.decode(type, Array(data))
        } catch {
            throw .invalidBase(base: path, reason: "\(name) is not a valid \(T.self) document: \(error)")
        }
    }

    mutating func images() throws -> [BaseImage.Image] {
        if files["manifest.json"] != nil { return try dockerArchiveImages() }
        if files["index.json"] != nil { return try ociImages() }
        throw ImageError.invalidBase(
            base: path, reason: "has neither manifest.json (docker-archive) nor index.json (OCI layout)")
    }

    // MARK: docker-archive

    mutating func dockerArchiveImages() throws -> [BaseImage.Image] {
        let entries = try json([DockerManifestEntry].self, member("manifest.json"), name: "manifest.json")
        var images: [BaseImage.Image] = []
        for entry in entries {
            let configMember = try member(entry.config)
            if let expected = Self.digestInName(entry.config) {
                try verify(configMember, expected: expected, blob: entry.config)
            }
            let config = try json(ImageConfig.self, configMember, name: entry.config)
            guard config.rootfs.diffIDs.count == entry.layers.count else {
                throw ImageError.invalidBase(
                    base: path,
                    reason:
                        "\(entry.config) lists \(config.rootfs.diffIDs.count) diff_ids but manifest.json lists \(entry.layers.count) layers"
                )
            }
            var layers: [BaseImage.Layer] = []
            for (index, name) in entry.layers.enumerated() {
                let stored = try member(name)
                if let expected = Self.digestInName(name) { try verify(stored, expected: expected, blob: name) }
                layers.append(try layer(stored, name: name, diffID: config.rootfs.diffIDs[index]))
            }
            images.append(try image(config, layers: layers, name: entry.config))
        }
        return images
    }

    /// `sha256:<hex>` when a member is named by its digest (`blobs/sha256/<hex>`, `<hex>.json`).
    static func digestInName(_ name: String) -> String? {
        let normalized = normalize(name)
        var hex = Paths.name(of: normalized)
        if hex.hasSuffix(".json") { hex.removeLast(5) }
        let isHex =
            hex.utf8.count == 64 && hex.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard isHex, normalized == "blobs/sha256/" + hex || normalized == hex + ".json" else { return nil }
        return "sha256:" + hex
    }

    // MARK: OCI layout

    mutating func ociImages() throws -> [BaseImage.Image] {
        let index = try json(ImageIndex.self, member("index.json"), name: "index.json")
        var images: [BaseImage.Image] = []
        try visit(index.manifests, depth: 0, into: &images)
        return images
    }

    mutating func visit(_ descriptors: [Descriptor], depth: Int, into images: inout [BaseImage.Image]) throws {
        for descriptor in descriptors {
            let blob = try self.blob(descriptor)
            if MediaType.isIndex(descriptor.mediaType) {
                guard depth < 3 else { throw ImageError.invalidBase(base: path, reason: "image indexes nest too deep") }
                let nested = try json(ImageIndex.self, blob, name: descriptor.digest)
                try visit(nested.manifests, depth: depth + 1, into: &images)
                continue
            }
            let manifest = try json(ImageManifest.self, blob, name: descriptor.digest)
            // Attestations and other artifacts sit beside images in indexes; they are not images.
            let imageConfigTypes = [MediaType.ociConfig, "application/vnd.docker.container.image.v1+json"]
            guard imageConfigTypes.contains(manifest.config.mediaType) else { continue }
            let config = try json(ImageConfig.self, self.blob(manifest.config), name: manifest.config.digest)
            guard config.rootfs.diffIDs.count == manifest.layers.count else {
                throw ImageError.invalidBase(
                    base: path,
                    reason:
                        "config \(manifest.config.digest) lists \(config.rootfs.diffIDs.count) diff_ids but manifest \(descriptor.digest) lists \(manifest.layers.count) layers"
                )
            }
            var layers: [BaseImage.Layer] = []
            for (index, descriptor) in manifest.layers.enumerated() {
                layers.append(
                    try layer(self.blob(descriptor), name: descriptor.digest, diffID: config.rootfs.diffIDs[index]))
            }
            images.append(try image(config, layers: layers, name: manifest.config.digest))
        }
    }

    /// The blob a descriptor names, verified against its digest and size.
    func blob(_ descriptor: Descriptor) throws(ImageError) -> Member {
        let parts = descriptor.digest.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "sha256", !parts[1].contains("/") else {
            throw .invalidBase(
                base: path, reason: "unsupported digest '\(descriptor.digest)': only sha256 digests are supported")
        }
        let name = "blobs/sha256/\(parts[1])"
        let stored = try member(name)
        try verify(stored, expected: descriptor.digest, blob: name)
        guard stored.size == descriptor.size else {
            throw .invalidBase(
                base: path, reason: "\(name) has \(stored.size) bytes but its descriptor says \(descriptor.size)")
        }
        return stored
    }

    // MARK: shared

    func verify(_ member: Member, expected: String, blob: String) throws(ImageError) {
        guard member.sha256.description == expected else {
            throw .baseDigestMismatch(base: path, blob: blob, expected: expected, actual: member.sha256.description)
        }
    }

    /// Decompresses a layer when needed, checks its diff_id, and checks every entry stays inside the root.
    mutating func layer(_ stored: Member, name: String, diffID: String) throws -> BaseImage.Layer {
        if let done = verified[stored.file] {
            guard done.diffID.description == diffID else {
                throw ImageError.baseDigestMismatch(
                    base: path, blob: "layer \(name) (uncompressed)", expected: diffID, actual: done.diffID.description)
            }
            return done
        }
        var result = BaseImage.Layer(file: stored.file, diffID: stored.sha256, size: stored.size)
        do {
            if try Decompressor.compression(of: stored.file) != nil {
                counter += 1
                let file = scratch + "/layer-\(counter).tar"
                let (size, diffID) = try Decompressor.decompress(stored.file, to: file)
                result = BaseImage.Layer(file: file, diffID: diffID, size: size)
            }
        } catch {
            throw ImageError.invalidBase(base: path, reason: "layer \(name) cannot be decompressed: \(error)")
        }
        guard result.diffID.description == diffID else {
            throw ImageError.baseDigestMismatch(
                base: path, blob: "layer \(name) (uncompressed)", expected: diffID, actual: result.diffID.description)
        }
        try Self.checkEntries(of: result.file, base: path, layer: name)
        verified[stored.file] = result
        return result
    }

    /// Rejects entries that would land outside the image root (see `BaseImage`).
    static func checkEntries(of file: String, base: String, layer: String) throws(ImageError) {
        do {
            let reader = try TarReader(path: file)
            while let header = try reader.next() {
                let entry = header.path
                func unsafe(_ reason: String) -> ImageError {
                    .unsafeBaseEntry(base: base, layer: layer, entry: entry, reason: reason)
                }
                if entry.hasPrefix("/") { throw unsafe("is an absolute path; layer entries must be relative") }
                guard SafePath.staysInside(entry) else { throw unsafe("climbs above the image root with '..'") }
                let target = header.linkTarget ?? ""
                switch header.kind {
                case .symlink:
                    // Absolute targets resolve inside the image root at run time; relative ones must not climb out.
                    let parent = Paths.parent(of: entry)
                    if !target.hasPrefix("/"), !SafePath.staysInside(parent.isEmpty ? target : parent + "/" + target) {
                        throw unsafe("is a symlink to '\(target)', which points outside the image root")
                    }
                case .hardlink:
                    if target.hasPrefix("/") || target.isEmpty || !SafePath.staysInside(target) {
                        throw unsafe("is a hardlink to '\(target)', which points outside the image root")
                    }
                default:
                    break
                }
            }
        } catch let error as ImageError {
            throw error
        } catch {
            throw .invalidBase(base: base, reason: "layer \(layer) is not a readable tar: \(error)")
        }
    }

    func image(_ config: ImageConfig, layers: [BaseImage.Layer], name: String) throws(ImageError) -> BaseImage.Image {
        guard let os = config.os, let architecture = config.architecture else {
            throw .invalidBase(base: path, reason: "config \(name) has no os or architecture")
        }
        var history = config.history ?? []
        // Tools check that non-empty history entries match the layers one to one; rebuild it when it does not.
        if history.filter({ $0.emptyLayer != true }).count != layers.count {
            history = layers.map { _ in
                ImageConfig.History(created: config.created, createdBy: "base image layer")
            }
        }
        return BaseImage.Image(
            os: os, architecture: architecture, variant: config.variant, layers: layers, env: config.config?.env,
            user: config.config?.user, workingDir: config.config?.workingDir, history: history)
    }
}
