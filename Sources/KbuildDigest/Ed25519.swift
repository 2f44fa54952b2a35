import CCrypto
import Foundation

/// An Ed25519 public key (PEM `PUBLIC KEY`, as `openssl pkey -pubout` writes it), verified through libcrypto.
public struct Ed25519PublicKey: Sendable, Hashable {
    /// The 32 raw key bytes.
    public let raw: [UInt8]

    /// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, algorithm 1.3.101.112, BIT STRING.
    private static let spkiPrefix: [UInt8] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ]

    /// Parses a PEM public key; `path` only names the source in errors.
    public init(pem: String, path: String) throws(DigestError) {
        let allowed = "an Ed25519 public key in PEM (openssl pkey -in KEY -pubout)"
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "-----BEGIN PUBLIC KEY-----"),
            let end = lines.firstIndex(of: "-----END PUBLIC KEY-----"), begin < end
        else {
            let what = lines.first { $0.hasPrefix("-----BEGIN ") }.map { "a PEM \($0.dropFirst(11).dropLast(5))" }
            throw .invalidKey(path: path, reason: "\(what ?? "no PEM public key") found; expected \(allowed)")
        }
        guard let der = Data(base64Encoded: lines[(begin + 1)..<end].joined()).map(Array.init) else {
            throw .invalidKey(path: path, reason: "the PEM body is not base64; expected \(allowed)")
        }
        guard der.count == 44, Array(der.prefix(12)) == Self.spkiPrefix else {
            throw .invalidKey(path: path, reason: "not an Ed25519 key (RSA, EC or other); expected \(allowed)")
        }
        raw = Array(der.suffix(32))
    }

    /// Reads and parses the PEM file at `path`.
    public init(file path: String) throws(DigestError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidKey(path: path, reason: "cannot read the key file; expected a readable PEM file")
        }
        try self.init(pem: String(decoding: data, as: UTF8.self), path: path)
    }

    /// True when `signature` is this key's Ed25519 signature over exactly `message` (pure Ed25519, no prehash).
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        guard signature.count == 64,
            let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count)
        else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        return EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
    }

    /// Hex sha256 of the raw key: a stable key id for messages.
    public var keyID: String { Digest.of(raw, .sha256).hex }
}
