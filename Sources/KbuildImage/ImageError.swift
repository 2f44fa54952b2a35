/// Everything that can go wrong writing an image tarball or reading a base image.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    /// The computed tag is not a valid docker tag.
    case invalidTag(tag: String, scheme: String, binary: String)
    /// An image name (registry + binary) is not a valid docker repository name.
    case invalidRepository(name: String, binary: String, reason: String)
    /// The binary to put into the image cannot be read.
    case unreadableBinary(path: String, reason: String)
    /// The base image tarball cannot be read or is not a docker-archive / OCI-layout image.
    case invalidBase(base: String, reason: String)
    /// A base image blob's bytes do not match the digest that names it.
    case baseDigestMismatch(base: String, blob: String, expected: String, actual: String)
    /// A base image layer entry would land outside the image root.
    case unsafeBaseEntry(base: String, layer: String, entry: String, reason: String)
    /// The base image has no image for the requested platform.
    case baseMissingPlatform(base: String, platform: String, available: [String])
    /// Writing an output failed.
    case output(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidTag(let tag, let scheme, let binary):
            return
                "image tag '\(tag)' of \(binary) (tag scheme \(scheme)) is invalid: allowed are 1 to 128 characters of A-Z a-z 0-9 _ . -, not starting with . or -"
        case .invalidRepository(let name, let binary, let reason):
            return "image name '\(name)' of \(binary) is invalid: \(reason)"
        case .unreadableBinary(let path, let reason):
            return "cannot read binary \(path) for its image: \(reason)"
        case .invalidBase(let base, let reason):
            return "base image \(base): \(reason)"
        case .baseDigestMismatch(let base, let blob, let expected, let actual):
            return "base image \(base): \(blob) has digest \(actual) but \(expected) was expected: the base is corrupt"
        case .unsafeBaseEntry(let base, let layer, let entry, let reason):
            return "base image \(base): layer \(layer): entry '\(entry)' \(reason)"
        case .baseMissingPlatform(let base, let platform, let available):
            return
                "base image \(base) has no image for \(platform): it holds \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case .output(let path, let reason):
            return "cannot write image output \(path): \(reason)"
        }
    }
}
