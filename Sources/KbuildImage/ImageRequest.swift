import Foundation
import KbuildCore
import KbuildDigest

/// How an image's tag is formed.
public enum ImageTagScheme: String, Sendable, Hashable, CaseIterable, Encodable {
    /// Lowercase hex md5 of the binary file: the classic Kubernetes scheme.
    case md5
    /// The release version, `+` replaced by `_` (tags may not hold `+`).
    case version
}

/// One image to write: which binary, for which platform, named how, written where.
public struct ImageRequest: Sendable, Hashable, Encodable {
    /// The binary's name, e.g. `kube-proxy`; it lives at `/usr/local/bin/<binary>` in the image.
    public var binary: String
    /// The built binary on disk.
    public var binaryPath: String
    /// The binary's platform; the image's `os`, `architecture` and `variant` follow it.
    public var platform: Platform
    /// The registry prefix of the image name, e.g. `registry.k8s.io` (empty: none).
    public var registry: String
    public var tagScheme: ImageTagScheme
    /// The release version (used by the `version` tag scheme).
    public var version: String
    /// Name the image `<bin>-<arch>` (else `<bin>`).
    public var archSuffix: Bool
    /// Also name amd64 images with the archless legacy `<registry>/<bin>`.
    public var legacyAmd64Name: Bool
    /// Where `<binary>.tar` and `<binary>.docker_tag` go.
    public var outputDirectory: String
    /// SOURCE_DATE_EPOCH: the image's `created`, its history time and every tar mtime.
    public var created: SourceDate
    /// The repository name under the registry, as the config's `images.name` template renders it; nil:
    /// `<bin>-<arch>` (or `<bin>` without `archSuffix`).
    public var name: String?

    public init(
        binary: String, binaryPath: String, platform: Platform, registry: String, tagScheme: ImageTagScheme,
        version: String, archSuffix: Bool, legacyAmd64Name: Bool, outputDirectory: String, created: SourceDate
    ) {
        self.binary = binary
        self.binaryPath = binaryPath
        self.platform = platform
        self.registry = registry
        self.tagScheme = tagScheme
        self.version = version
        self.archSuffix = archSuffix
        self.legacyAmd64Name = legacyAmd64Name
        self.outputDirectory = outputDirectory
        self.created = created
    }

    /// `<outputDirectory>/<binary>.tar`.
    public var tarballPath: String { outputDirectory + "/" + binary + ".tar" }
    /// `<outputDirectory>/<binary>.docker_tag`.
    public var dockerTagPath: String { outputDirectory + "/" + binary + ".docker_tag" }
    /// Where the binary lives inside the image.
    public var entrypoint: String { "/usr/local/bin/" + binary }

    /// The image's repositories (names without tag), the primary first, no duplicates.
    public var repositories: [String] {
        let prefix = registry.isEmpty ? "" : (registry.hasSuffix("/") ? registry : registry + "/")
        var names = [prefix + (name ?? (archSuffix ? "\(binary)-\(platform.arch)" : binary))]
        if legacyAmd64Name, platform.arch == "amd64", !names.contains(prefix + binary) {
            names.append(prefix + binary)
        }
        return names
    }

    /// `repository:tag` for every repository, validated.
    public func repoTags(tag: String) throws(ImageError) -> [String] {
        try ImageTag.validate(tag, scheme: tagScheme, binary: binary)
        for repository in repositories { try ImageName.validate(repository, binary: binary) }
        return repositories.map { $0 + ":" + tag }
    }

    /// The tag this request gets (reads the binary for the md5 scheme).
    public func tag() throws(ImageError) -> String {
        try ImageTag.compute(scheme: tagScheme, binaryPath: binaryPath, version: version, binary: binary)
    }
}

/// Image tags: computing and validating them.
public enum ImageTag {
    /// The tag for `scheme`: md5 of the binary file, or the version with `+` replaced by `_`.
    public static func compute(
        scheme: ImageTagScheme, binaryPath: String, version: String, binary: String
    ) throws(ImageError) -> String {
        let tag: String
        switch scheme {
        case .md5:
            do {
                tag = try Digest.file(binaryPath, .md5).hex
            } catch {
                guard case .cannotRead(_, let reason) = error else {
                    throw .unreadableBinary(path: binaryPath, reason: error.description)
                }
                throw .unreadableBinary(path: binaryPath, reason: reason)
            }
        case .version:
            tag = version.replacingOccurrences(of: "+", with: "_")
        }
        try validate(tag, scheme: scheme, binary: binary)
        return tag
    }

    /// True when `tag` matches `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isValid(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func word(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
        }
        guard word(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { word($0) || $0 == 0x2e || $0 == 0x2d }
    }

    static func validate(_ tag: String, scheme: ImageTagScheme, binary: String) throws(ImageError) {
        guard isValid(tag) else { throw .invalidTag(tag: tag, scheme: scheme.rawValue, binary: binary) }
    }
}
