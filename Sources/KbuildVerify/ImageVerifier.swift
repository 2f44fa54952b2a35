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
/// blob digests, manifest.json, config architecture/variant, RepoTags and the md5 tag. Works on the tarball's
/// bytes in memory (image tarballs are a few MB; verify refuses one over `maxBytes` before reading it).
struct ImageVerifier {
    /// The largest image tarball checked (it is held in memory): kbuild's images are a binary on a base
    /// image (tens of MB; Kubernetes' kube-apiserver about 140 MB); a larger one is refused before it is read.
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
    func verify(_ tarball: Data, subject: String, expecting expected: ImageExpectation) -> [VerifyCheck] {
        var failures: [VerifyCheck] = []
        func fail(_ detail: String) { failures.append(.fail("image", subject, detail)) }
        guard let entries = RawTar.entries(tarball) else {
            return [.fail("image", subject, "does not open as a tar")]
        }
        var files: [String: Data] = [:]
        var blobs: [String: Data] = [:]
        for entry in entries where entry.type == "0" {
            let bytes = tarball[entry.data]
            if entry.name.hasPrefix("blobs/sha256/") {
                let hex = String(entry.name.dropFirst("blobs/sha256/".count))
                let digest = Digest.of(bytes, .sha256).hex
                if digest != hex { fail("blob \(entry.name) has sha256 \(digest), not its name") }
                blobs[hex] = bytes
            } else if ["manifest.json", "index.json", "repositories", "oci-layout"].contains(entry.name) {
                files[entry.name] = bytes
            }
        }
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
        for path in [manifest.config] + manifest.layers where blobs[Self.hex(path)] == nil {
            fail("manifest.json names \(path), which is not in the tarball")
        }
        if let configBytes = blobs[Self.hex(manifest.config)] {
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
            layerMD5 = blobs[Self.hex(top)].flatMap { md5(of: "usr/local/bin/" + expected.binary, inLayer: $0) }
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

    private func md5(of entry: String, inLayer layer: Data) -> String? {
        guard let file = RawTar.entries(layer)?.first(where: { $0.name == entry || $0.name == "./" + entry }) else {
            return nil
        }
        return Digest.of(layer[file.data], .md5).hex
    }

    static func hex(_ blobPath: String) -> String { String(blobPath.split(separator: "/").last ?? "") }

    static func variant(_ arch: String) -> String? {
        arch == "arm" ? "v7" : arch == "arm64" ? "v8" : nil
    }

    static func isMD5(_ tag: String) -> Bool {
        tag.count == 32 && tag.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
