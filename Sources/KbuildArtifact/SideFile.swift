/// A file of the release directory beside the archives: digests, sums, lists, proofs.
public struct SideFile: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        /// `<file>.sha256` / `.sha512`: one file's digest and a newline.
        case digest
        /// `<file>.sha256sum`: one `<digest>  <file>` line, as `sha256sum` prints it.
        case digestLine
        /// `SHA256SUMS` / `SHA512SUMS`: `<digest>  <name>` for every summed file, sorted by name.
        case sums
        /// `artifacts.json`: every archive, image and the SBOM with size and sha256.
        case artifactList
        /// `<project>.spdx.json`.
        case sbom
        /// `<project>.intoto.jsonl`.
        case provenance
        /// `SHA256SUMS.sig`.
        case signature
    }

    /// The file name in `release-tars`.
    public var name: String
    public var kind: Kind
    /// For digests and sums: `sha256` or `sha512`.
    public var algorithm: String?
    /// For a digest: the file it is the digest of.
    public var of: String?
    /// Written only when the release is signed (`KBUILD_SIGN_KEY`).
    public var signedOnly: Bool

    public init(name: String, kind: Kind, algorithm: String? = nil, of: String? = nil, signedOnly: Bool = false) {
        self.name = name
        self.kind = kind
        self.algorithm = algorithm
        self.of = of
        self.signedOnly = signedOnly
    }
}
