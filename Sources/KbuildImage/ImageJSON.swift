import Foundation

// The JSON documents of docker-archive and OCI-layout tarballs. Only the fields kbuild reads or
// writes are modelled; reading ignores the rest. Writing uses `ImageJSON.encode`: sorted keys,
// compact, unescaped slashes, so the same values always give the same bytes.

/// Encoding shared by every JSON document kbuild writes into an image.
enum ImageJSON {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings, ints and arrays cannot fail.
        guard let data = try? encoder.encode(value) else { preconditionFailure("image JSON is not encodable") }
        return Array(data)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// One entry of a docker-archive `manifest.json`.
struct DockerManifestEntry: Codable, Hashable {
    var config: String
    var repoTags: [String]?
    var layers: [String]

    enum CodingKeys: String, CodingKey {
        case config = "Config", repoTags = "RepoTags", layers = "Layers"
    }
}

/// An image config (`application/vnd.oci.image.config.v1+json`, docker-compatible).
struct ImageConfig: Codable, Hashable {
    struct Settings: Codable, Hashable {
        var entrypoint: [String]?
        var env: [String]?
        var user: String?
        var workingDir: String?

        enum CodingKeys: String, CodingKey {
            case entrypoint = "Entrypoint", env = "Env", user = "User", workingDir = "WorkingDir"
        }
    }
    struct RootFS: Codable, Hashable {
        var type: String
        var diffIDs: [String]

        enum CodingKeys: String, CodingKey {
            case type, diffIDs = "diff_ids"
        }
    }
    struct History: Codable, Hashable {
        var created: String?
        var createdBy: String?
        var author: String?
        var comment: String?
        var emptyLayer: Bool?

        enum CodingKeys: String, CodingKey {
            case created, createdBy = "created_by", author, comment, emptyLayer = "empty_layer"
        }
    }

    var architecture: String?
    var os: String?
    var variant: String?
    var created: String?
    var config: Settings?
    var rootfs: RootFS
    var history: [History]?
}

/// An OCI content descriptor.
struct Descriptor: Codable, Hashable {
    struct Platform: Codable, Hashable {
        var architecture: String
        var os: String
        var variant: String?
    }
    var mediaType: String
    var digest: String
    var size: Int64
    var annotations: [String: String]?
    var platform: Platform?
}

/// An OCI image manifest (or a docker schema 2 manifest, which has the same shape).
struct ImageManifest: Codable, Hashable {
    var schemaVersion: Int
    var mediaType: String?
    var config: Descriptor
    var layers: [Descriptor]
}

/// An OCI image index (`index.json`), or a docker manifest list.
struct ImageIndex: Codable, Hashable {
    var schemaVersion: Int
    var mediaType: String?
    var manifests: [Descriptor]
}

/// The `oci-layout` file.
struct OCILayout: Codable, Hashable {
    var imageLayoutVersion: String
}

enum MediaType {
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"

    static func isIndex(_ type: String?) -> Bool { type == ociIndex || type == dockerManifestList }
}
