import CCrypto
import Foundation

/// A hash algorithm kbuild uses: md5 for image tags, sha256/sha512 for checksums and OCI digests.
public enum DigestAlgorithm: String, Sendable, CaseIterable, Codable {
    case md5, sha256, sha512

    fileprivate var evp: OpaquePointer? {
        switch self {
        case .md5: return EVP_md5()
        case .sha256: return EVP_sha256()
        case .sha512: return EVP_sha512()
        }
    }
}

/// The result of hashing: the algorithm and its raw bytes.
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    public let algorithm: DigestAlgorithm
    public let bytes: [UInt8]

    public init(algorithm: DigestAlgorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Lowercase hex, as `md5sum`/`sha256sum` print it.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `sha256:<hex>`, the OCI form.
    public var description: String { "\(algorithm.rawValue):\(hex)" }

    /// One-shot hash of bytes.
    public static func of(_ data: some DataProtocol, _ algorithm: DigestAlgorithm) -> Digest {
        var hasher = Hasher(algorithm)
        hasher.update(data)
        return hasher.finalize()
    }

    /// The digest of a list of texts, each as `<UTF-8 byte count>:<bytes>` so that no two lists hash alike:
    /// the form of cache keys. Fed in 64 KiB batches (a key may have a part per file of a large tree).
    public static func ofParts(_ parts: [String], _ algorithm: DigestAlgorithm) -> Digest {
        var hasher = Hasher(algorithm)
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 17)
        for part in parts {
            pending.append(contentsOf: String(part.utf8.count).utf8)
            pending.append(0x3A)  // ":"
            pending.append(contentsOf: part.utf8)
            if pending.count >= 1 << 16 {
                pending.withUnsafeBytes { hasher.update($0) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        pending.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }

    /// Streams a file through `algorithm`.
    public static func file(_ path: String, _ algorithm: DigestAlgorithm) throws(DigestError) -> Digest {
        var hasher = Hasher(algorithm)
        try streamFile(path) { hasher.update($0) }
        return hasher.finalize()
    }

    /// Calls `body` with the file's bytes, 1 MiB at a time.
    static func streamFile(_ path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws(DigestError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return }
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Streaming hasher of one algorithm.
    public struct Hasher: ~Copyable {
        private let algorithm: DigestAlgorithm
        private let context: OpaquePointer

        public init(_ algorithm: DigestAlgorithm) {
            // Allocation failure of a few hundred bytes is not a user error; libcrypto aborts likewise.
            guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, algorithm.evp, nil) == 1 else {
                preconditionFailure("libcrypto cannot initialise \(algorithm.rawValue)")
            }
            self.algorithm = algorithm
            self.context = context
        }

        deinit { EVP_MD_CTX_free(context) }

        /// Feeds bytes.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            EVP_DigestUpdate(context, base, bytes.count)
        }

        /// Feeds any contiguous or non-contiguous bytes.
        public mutating func update(_ data: some DataProtocol) {
            for region in data.regions {
                region.withUnsafeBytes { update($0) }
            }
        }

        /// The digest; the hasher is consumed.
        public consuming func finalize() -> Digest {
            var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            EVP_DigestFinal_ex(context, &out, &length)
            return Digest(algorithm: algorithm, bytes: Array(out.prefix(Int(length))))
        }
    }
}

/// The two digests of every release file (SHA256SUMS, SHA512SUMS), computed in one pass.
public struct Checksums: Sendable, Hashable {
    public let sha256: Digest
    public let sha512: Digest

    public init(sha256: Digest, sha512: Digest) {
        self.sha256 = sha256
        self.sha512 = sha512
    }

    /// Streams a file once through both algorithms.
    public static func file(_ path: String) throws(DigestError) -> Checksums {
        var hasher = Hasher()
        try Digest.streamFile(path) { hasher.update($0) }
        return hasher.finalize()
    }

    /// Streaming hasher of both digests.
    public struct Hasher: ~Copyable {
        private var sha256 = Digest.Hasher(.sha256)
        private var sha512 = Digest.Hasher(.sha512)

        public init() {}

        /// Feeds bytes to both.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            sha256.update(bytes)
            sha512.update(bytes)
        }

        /// Both digests; the hasher is consumed.
        public consuming func finalize() -> Checksums {
            Checksums(sha256: sha256.finalize(), sha512: sha512.finalize())
        }
    }
}

/// Hashing and signing failures.
public enum DigestError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    /// A key file that cannot be used: missing, unreadable, another type, passphrase-protected; `allowed` says what is.
    case key(path: String, problem: String, allowed: String = Ed25519PrivateKey.allowed)
    /// libcrypto refused an operation on a valid key.
    case crypto(operation: String, reason: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "cannot read \(path) to hash it: \(reason)"
        case .key(let path, let problem, let allowed):
            // A path may hold a newline; the error stays one line.
            let shown = path.replacingOccurrences(of: "\n", with: "\\n")
            return "\(shown): \(problem); \(allowed)"
        case .crypto(let operation, let reason): return "libcrypto cannot \(operation): \(reason)"
        }
    }
}
