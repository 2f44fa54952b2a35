import Foundation
import KbuildDigest

// The OCI image-spec documents publishing reads and writes
// (https://github.com/opencontainers/image-spec: descriptor.md, manifest.md, image-index.md).
// Writing is `OCIJSON.encode`: sorted keys, compact, unescaped slashes: the same values give the same
// bytes, so an index's digest is known before anything is pushed.

/// The media types kbuild pushes: OCI throughout, because the per-arch images kbuild writes are OCI
/// manifests with uncompressed OCI layers (their digests are the diff_ids, no gzip in between), and a
/// Docker manifest list may not name OCI manifests.
public enum OCIMediaType {
    public static let index = "application/vnd.oci.image.index.v1+json"
    public static let manifest = "application/vnd.oci.image.manifest.v1+json"
}

/// An image's platform, as an index names it.
public struct OCIPlatform: Codable, Sendable, Hashable {
    public var architecture: String
    public var os: String
    public var variant: String?
}

/// A content descriptor.
public struct OCIDescriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var platform: OCIPlatform?
    public var annotations: [String: String]?
}

/// An image manifest (the fields publishing needs).
public struct OCIManifest: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
}

/// An image index: one manifest per platform.
public struct OCIIndex: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [OCIDescriptor]

    /// The index over `images`, ordered by platform so its bytes do not depend on the order they came in.
    public static func over(_ images: [ImageArchive]) -> OCIIndex {
        let sorted = images.sorted {
            ($0.platform.os, $0.platform.architecture, $0.platform.variant ?? "")
                < ($1.platform.os, $1.platform.architecture, $1.platform.variant ?? "")
        }
        return OCIIndex(
            schemaVersion: 2, mediaType: OCIMediaType.index,
            manifests: sorted.map {
                OCIDescriptor(
                    mediaType: $0.manifestMediaType, digest: $0.manifestDigest, size: Int64($0.manifest.count),
                    platform: $0.platform)
            })
    }

    /// The index's bytes as pushed.
    public var bytes: Data { OCIJSON.encode(self) }
}

enum OCIJSON {
    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { preconditionFailure("OCI JSON is not encodable") }
        return data
    }

    static func digest(_ data: Data) -> String { "sha256:" + Digest.of(data, .sha256).hex }
}
