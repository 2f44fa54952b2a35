import Foundation
import KbuildCore
import KbuildDigest

/// What one image tarball must be: its reference, tag, architecture and (md5 scheme) the binary's md5.
struct ImageExpectation: Sendable {
    /// The binary the image wraps (`/usr/local/bin/<binary>`).
    var binary: String
    /// GOARCH of the image.
    var arch: String
    /// `<registry>/<bin>-<arch>:<tag>` from artifacts.json, when known.
    var reference: String?
    /// The content of `<bin>.docker_tag`, trimmed, when known.
    var tag: String?
    /// md5 of the binary shipped beside the image (server/bin/<bin>), when known.
    var binaryMD5: String?
}

/// Checks a docker-archive image tarball as kbuild writes it (see KbuildImage's ImageWriter and docs/images.md):
/// blob digests, manifest.json, config architecture/variant, RepoTags and the md5 tag. Works on an
/// `ImageScan` of the tarball: one streamed pass, a few small documents held, never a layer in memory.
struct ImageVerifier {
    /// The largest image tarball checked: kbuild's images are a binary on a base image (tens of MB;
    /// Kubernetes' kube-apiserver about 140 MB); a larger one is refused before it is read.
    static let maxBytes: Int64 = 512 << 20

    static func oversized(_ size: Int64) -> String {
        "is \(ByteCount.text(size)); kbuild verify reads an image tarball of at most \(ByteCount.text(maxBytes))"
    }
    private struct DockerManifest: Decodable {
        var config: String
        var repoTags: [String]?
        var layers: [String]
        enum CodingKeys: String, CodingKey { case config = "Config", repoTags = "RepoTags", layers = "Layers" }
    }

    private struct Config: Decodable {
        struct RootFS: Decodable {
            var diffIDs: [String]
            enum CodingKeys: String, CodingKey { case diffIDs = "diff_ids" }
        }
        var architecture: String?
        var os: String?
        var variant: String?
        var rootfs: RootFS
    }

    /// Every problem as a FAIL line, or one ok line naming what matched.
    func verify(_ scanned: ImageScan.Found, subject: String, expecting expected: ImageExpectation) -> [VerifyCheck] {
        var failures: [VerifyCheck] = []
        func fail(_ detail: String) { failures.append(.fail("image", subject, detail)) }
        guard scanned.isTar else { return [.fail("image", subject, "does not open as a tar")] }
        for (name, digest) in scanned.misnamed.sorted(by: { $0.key < $1.key }) {
            fail("blob \(name) has sha256 \(digest), not its name")
        }
        let files = scanned.documents
        guard let manifestBytes = files["manifest.json"],
            let manifests = try? JSONDecoder().decode([DockerManifest].self, from: manifestBytes),
            manifests.count == 1, let manifest = manifests.first
        else {
            return failures + [.fail("image", subject, "manifest.json is missing or not one docker-archive manifest")]
        }
        let tags = manifest.repoTags ?? []
        if let reference = expected.reference, tags.first != reference {
            fail("RepoTags \(tags) do not start with \(reference) (artifacts.json)")
        }
        if let tag = expected.tag, !tags.contains(where: { $0.hasSuffix(":" + tag) }) || tags.isEmpty {
            fail("RepoTags \(tags) do not carry the tag \(tag) of \(expected.binary).docker_tag")
        }
        for path in [manifest.config] + manifest.layers where !scanned.blobs.contains(Self.hex(path)) {
            fail("manifest.json names \(path), which is not in the tarball")
        }
        if let configBytes = scanned.smallBlobs[Self.hex(manifest.config)] {
            if let config = try? JSONDecoder().decode(Config.self, from: configBytes) {
                let variant = Self.variant(expected.arch)
                if config.architecture != expected.arch || config.variant != variant || config.os != "linux" {
                    fail(
                        "config says \(config.os ?? "-")/\(config.architecture ?? "-")\(config.variant.map { "/" + $0 } ?? ""), "
                            + "the platform directory says linux/\(expected.arch)\(variant.map { "/" + $0 } ?? "")")
                }
                let layers = manifest.layers.map { "sha256:" + Self.hex($0) }
                if config.rootfs.diffIDs != layers {
                    fail("config rootfs.diff_ids \(config.rootfs.diffIDs) differ from the layers \(layers)")
                }
            } else {
                fail("config blob \(manifest.config) is not an image config")
            }
        }
        // The binary in the top layer: its md5 is the tag (md5 scheme) and equals the binary shipped beside.
        var layerMD5: String?
        if let top = manifest.layers.last {
            layerMD5 = scanned.binaryMD5[Self.hex(top)]
            if layerMD5 == nil { fail("the top layer has no usr/local/bin/\(expected.binary)") }
        }
        if let layerMD5, let shipped = expected.binaryMD5, layerMD5 != shipped {
            fail("the image's \(expected.binary) (md5 \(layerMD5)) is not the one shipped beside it (md5 \(shipped))")
        }
        let tag = expected.tag ?? tags.first.map { String($0.split(separator: ":").last ?? "") }
        if let tag, Self.isMD5(tag), let layerMD5, tag != layerMD5 {
            fail("tag \(tag) is not the md5 of the binary inside (\(layerMD5))")
        }
        guard failures.isEmpty else { return failures }
        return [
            .ok(
                "image", subject,
                "\(tags.first ?? "no tag"), linux/\(expected.arch), blobs match, binary md5 \(layerMD5 ?? "-")")
        ]
    }

    static func hex(_ blobPath: String) -> String { String(blobPath.split(separator: "/").last ?? "") }

    static func variant(_ arch: String) -> String? {
        arch == "arm" ? "v7" : arch == "arm64" ? "v8" : nil
    }

    static func isMD5(_ tag: String) -> Bool {
        tag.count == 32 && tag.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// One streamed pass over an image tarball: every blob hashed (sha256) as it goes by, each blob read as
/// a layer tar for `usr/local/bin/<binary>` (its md5), and the small documents kept (manifest.json,
/// index.json, repositories, oci-layout, blobs up to `smallBlob` bytes: the config). Feed it the
/// tarball's bytes in order, then take `found`.
final class ImageScan {
    /// What the pass found.
    struct Found: Sendable {
        var isTar = true
        var documents: [String: Data] = [:]
        /// Hex names of the blobs present.
        var blobs: Set<String> = []
        /// Blob name → the sha256 its bytes have, for blobs that do not match their name.
        var misnamed: [String: String] = [:]
        var smallBlobs: [String: Data] = [:]
        /// Blob hex → md5 of `usr/local/bin/<binary>` inside it, for blobs that are layers holding it.
        var binaryMD5: [String: String] = [:]
        /// sha256 (hex) of the whole tarball.
        var sha256 = ""
    }

    static let smallBlob = 1 << 20
    static let documentNames: Set = ["manifest.json", "index.json", "repositories", "oci-layout"]

    private let binaryPaths: Set<String>
    private var outer = TarStream()
    private var whole: Digest.Hasher? = Digest.Hasher(.sha256)
    private var found = Found()
    /// The entry being read: its name, hasher, kept bytes and layer parser.
    private var name: String?
    private var blobHasher: Digest.Hasher?
    private var kept: Data?
    private var layer: TarStream?
    private var binaryHasher: Digest.Hasher?
    private var binaryMD5: String?
    private var sawEntry = false

    init(binary: String) {
        binaryPaths = ["usr/local/bin/" + binary, "./usr/local/bin/" + binary]
    }

    /// Parses the next bytes of the tarball.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        whole?.update(bytes)
        outer.feed(bytes) { event in self.handle(event) }
    }

    /// What the pass found; call once, after the last bytes.
    func finish() -> Found {
        var result = found
        result.isTar = !outer.isBroken || sawEntry
        result.sha256 = whole.take()?.finalize().hex ?? ""
        return result
    }

    /// Scans a whole file, read in 1 MiB pieces.
    static func file(_ path: String, binary: String) -> Found? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let scan = ImageScan(binary: binary)
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { scan.feed($0) }
        }
        return scan.finish()
    }

    private func handle(_ event: TarStream.Event) {
        switch event {
        case .begin(let entry, let type, let size):
            sawEntry = true
            guard type == UInt8(ascii: "0") else { return }
            name = entry
            if entry.hasPrefix("blobs/sha256/") {
                blobHasher = Digest.Hasher(.sha256)
                layer = TarStream()
                if size <= Self.smallBlob { kept = Data() }
            } else if Self.documentNames.contains(entry), size <= Self.smallBlob {
                kept = Data()
            }
        case .data(let piece):
            guard name != nil else { return }
            blobHasher?.update(piece)
            kept?.append(contentsOf: piece)
            layer?.feed(piece) { inner in self.handleLayer(inner) }
        case .end:
            finishEntry()
        }
    }

    private func handleLayer(_ event: TarStream.Event) {
        switch event {
        case .begin(let entry, let type, _):
            if type == UInt8(ascii: "0"), binaryPaths.contains(entry) { binaryHasher = Digest.Hasher(.md5) }
        case .data(let piece):
            binaryHasher?.update(piece)
        case .end:
            if let hasher = binaryHasher.take() { binaryMD5 = hasher.finalize().hex }
        }
    }

    private func finishEntry() {
        guard let entry = name else { return }
        name = nil
        layer = nil
        let bytes = kept
        kept = nil
        let md5 = binaryMD5
        binaryMD5 = nil
        binaryHasher = nil
        guard let hasher = blobHasher.take() else {
            if let bytes { found.documents[entry] = bytes }
            return
        }
        let hex = String(entry.dropFirst("blobs/sha256/".count))
        let digest = hasher.finalize().hex
        if digest != hex { found.misnamed[entry] = digest }
        found.blobs.insert(hex)
        if let bytes { found.smallBlobs[hex] = bytes }
        if let md5 { found.binaryMD5[hex] = md5 }
    }
}
