import CCrypto
import Foundation
import KbuildCore

/// An Ed25519 public key: raw 32 bytes, its DER (SubjectPublicKeyInfo) form and the key id kbuild signs with.
public struct Ed25519PublicKey: Sendable, Hashable {
    /// The 32 raw key bytes.
    public let raw: [UInt8]

    /// A key from its 32 raw bytes.
    public init(raw: [UInt8]) throws(DigestError) {
        guard raw.count == 32 else {
            throw .key(path: "public key", problem: "\(raw.count) bytes instead of 32")
        }
        self.raw = raw
    }

    /// Reads a PEM public key (`openssl pkey -pubout`); refuses anything but Ed25519.
    public init(pemFile path: String) throws(DigestError) {
        do throws(DigestError) {
            let pem = try readKeyFile(path)
            let key = try withBIO(pem, path: path) { bio in PEM_read_bio_PUBKEY(bio, nil, noPassphrase, nil) }
            defer { EVP_PKEY_free(key) }
            guard EVP_PKEY_get_id(key) == kbuild_evp_pkey_ed25519 else {
                throw DigestError.key(path: path, problem: "a \(keyTypeName(key)) public key, not Ed25519")
            }
            self.raw = try rawKey(key, path: path, EVP_PKEY_get_raw_public_key)
        } catch {
            if case .key(let path, let problem, _) = error {
                throw .key(path: path, problem: problem, allowed: Self.allowed)
            }
            throw error
        }
    }

    /// What a public key must be, for error messages.
    public static let allowed = "allowed: an Ed25519 public key in PEM (openssl pkey -in KEY -pubout)"

    /// DER SubjectPublicKeyInfo, the bytes of `openssl pkey -pubout -outform DER`.
    public var der: [UInt8] {
        // The fixed 12-byte SPKI prefix of every Ed25519 key (RFC 8410: SEQUENCE, AlgorithmIdentifier 1.3.101.112, BIT STRING).
        [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00] + raw
    }

    /// The key id: hex sha256 of the DER public key (`openssl pkey -pubout -outform DER | sha256sum`).
    public var keyID: String { Digest.of(der, .sha256).hex }

    /// PEM text of the public key, as `openssl pkey -pubout` writes it.
    public var pem: String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN PUBLIC KEY-----\n\(body)\n-----END PUBLIC KEY-----\n"
    }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    public func verify(signature: some DataProtocol, of message: some DataProtocol) -> Bool {
        guard let key = EVP_PKEY_new_raw_public_key(kbuild_evp_pkey_ed25519, nil, raw, raw.count) else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        let signatureBytes = [UInt8](signature)
        let messageBytes = [UInt8](message)
        return EVP_DigestVerify(context, signatureBytes, signatureBytes.count, messageBytes, messageBytes.count) == 1
    }
}

/// An Ed25519 signing key, loaded from an unencrypted PEM private key (`openssl genpkey -algorithm ed25519`).
/// Holds the 32-byte seed as a value, so it is Sendable and needs no deinit; libcrypto keys live per call.
public struct Ed25519PrivateKey: Sendable {
    private let seed: [UInt8]
    /// The matching public key.
    public let publicKey: Ed25519PublicKey

    /// What a signing key must be, for error messages.
    public static let allowed =
        "allowed: an unencrypted Ed25519 private key in PEM (openssl genpkey -algorithm ed25519)"

    /// What to warn about a key file group or others can read (ssh refuses such keys), or nil.
    public static func exposure(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & 0o077 != 0 else { return nil }
        let mode = "0" + String(info.st_mode & 0o777, radix: 8)
        return
            "\(path.replacingOccurrences(of: "\n", with: "\\n")): the private signing key is readable by group or others (mode \(mode)); chmod 600 it"
    }

    /// Reads `path`; a missing or unreadable file, another key type or a passphrase-protected key is an error.
    public init(pemFile path: String) throws(DigestError) {
        let pem = try readKeyFile(path)
        let text = String(decoding: pem, as: UTF8.self)
        if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw .key(path: path, problem: "the private key is protected by a passphrase")
        }
        if text.contains("-----BEGIN PUBLIC KEY-----") && !text.contains("PRIVATE KEY-----") {
            throw .key(
                path: path,
                problem: "is a public key; signing needs the private key (give the public one to verify --key)")
        }
        let key = try withBIO(pem, path: path) { bio in PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil) }
        defer { EVP_PKEY_free(key) }
        guard EVP_PKEY_get_id(key) == kbuild_evp_pkey_ed25519 else {
            throw .key(path: path, problem: "a \(keyTypeName(key)) private key, not Ed25519")
        }
        seed = try rawKey(key, path: path, EVP_PKEY_get_raw_private_key)
        publicKey = try Ed25519PublicKey(raw: try rawKey(key, path: path, EVP_PKEY_get_raw_public_key))
    }

    /// A key from its 32-byte seed (tests, and keys held elsewhere).
    public init(seed: [UInt8]) throws(DigestError) {
        guard seed.count == 32, let key = EVP_PKEY_new_raw_private_key(kbuild_evp_pkey_ed25519, nil, seed, seed.count)
        else { throw .key(path: "private key", problem: "\(seed.count) bytes instead of a 32-byte Ed25519 seed") }
        defer { EVP_PKEY_free(key) }
        self.seed = seed
        publicKey = try Ed25519PublicKey(raw: try rawKey(key, path: "private key", EVP_PKEY_get_raw_public_key))
    }

    /// The 64-byte Ed25519 signature of `message` (deterministic: same key and message, same bytes).
    public func sign(_ message: some DataProtocol) throws(DigestError) -> [UInt8] {
        guard let key = EVP_PKEY_new_raw_private_key(kbuild_evp_pkey_ed25519, nil, seed, seed.count) else {
            throw .crypto(operation: "load the Ed25519 key", reason: lastCryptoError())
        }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else {
            throw .crypto(operation: "sign", reason: lastCryptoError())
        }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1 else {
            throw .crypto(operation: "sign", reason: lastCryptoError())
        }
        let bytes = [UInt8](message)
        var signature = [UInt8](repeating: 0, count: 64)
        var length = signature.count
        guard EVP_DigestSign(context, &signature, &length, bytes, bytes.count) == 1, length == 64 else {
            throw .crypto(operation: "sign", reason: lastCryptoError())
        }
        return signature
    }
}

/// A passphrase callback that refuses: without it libcrypto would prompt on the terminal.
private let noPassphrase:
    @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 =
        { _, _, _, _ in -1 }

/// The key file's bytes: opened non-blocking and checked with fstat, so a FIFO or a device is named, not read.
private func readKeyFile(_ path: String) throws(DigestError) -> [UInt8] {
    do throws(FileKindError) {
        return [UInt8](try FileKind.readRegularFile(path, limit: 1 << 20))
    } catch {
        let reason = error.reason.hasPrefix("is ") ? error.reason : "cannot read the key: \(error.reason)"
        throw .key(path: path, problem: reason)
    }
}

private func withBIO(
    _ pem: [UInt8], path: String, _ read: (OpaquePointer) -> OpaquePointer?
) throws(DigestError) -> OpaquePointer {
    ERR_clear_error()
    guard let bio = pem.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
        throw .crypto(operation: "read \(path)", reason: lastCryptoError())
    }
    defer { BIO_free(bio) }
    guard let key = read(bio) else {
        throw .key(path: path, problem: "not a PEM key libcrypto can read (\(lastCryptoError()))")
    }
    return key
}

private func rawKey(
    _ key: OpaquePointer, path: String,
    _ get: (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>?) -> Int32
) throws(DigestError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 32)
    var length = bytes.count
    guard get(key, &bytes, &length) == 1, length == 32 else {
        throw .crypto(operation: "read the raw key of \(path)", reason: lastCryptoError())
    }
    return bytes
}

private func keyTypeName(_ key: OpaquePointer) -> String {
    guard let name = EVP_PKEY_get0_type_name(key) else { return "non-Ed25519" }
    return String(cString: name)
}

/// libcrypto's last error, one line; "unknown error" when it left none.
func lastCryptoError() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return "unknown error" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
