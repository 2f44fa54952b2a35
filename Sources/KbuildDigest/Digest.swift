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
        var hasher = Hasher([algorithm])
        hasher.update(data)
        return hasher.finalize()[algorithm]!
    }

    /// Streams a file through the given algorithms in one pass.
    public static func file(
        _ path: String, _ algorithms: Set<DigestAlgorithm>
    ) throws -> [DigestAlgorithm: Digest] {
        var hasher = Hasher(algorithms)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DigestError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw DigestError.cannotRead(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize()
    }

    /// Streaming hasher over several algorithms at once (one read, many digests).
    public struct Hasher: ~Copyable {
        private var contexts: [(DigestAlgorithm, OpaquePointer)]

        public init(_ algorithms: Set<DigestAlgorithm>) {
            contexts = algorithms.sorted { $0.rawValue < $1.rawValue }.map { algorithm in
                // Allocation failure of a few hundred bytes is not a user error; libcrypto aborts likewise.
                guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, algorithm.evp, nil) == 1 else {
                    preconditionFailure("libcrypto cannot initialise \(algorithm.rawValue)")
                }
                return (algorithm, context)
            }
        }

        deinit {
            for (_, context) in contexts { EVP_MD_CTX_free(context) }
        }

        /// Feeds bytes to every algorithm.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            for (_, context) in contexts { EVP_DigestUpdate(context, base, bytes.count) }
        }

        /// Feeds any contiguous or non-contiguous bytes.
        public mutating func update(_ data: some DataProtocol) {
            for region in data.regions {
                region.withUnsafeBytes { update($0) }
            }
        }

        /// The digests; the hasher is consumed.
        public consuming func finalize() -> [DigestAlgorithm: Digest] {
            var result: [DigestAlgorithm: Digest] = [:]
            for (algorithm, context) in contexts {
                var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
                var length: UInt32 = 0
                EVP_DigestFinal_ex(context, &out, &length)
                result[algorithm] = Digest(algorithm: algorithm, bytes: Array(out.prefix(Int(length))))
            }
            return result
        }
    }
}

/// Hashing failures.
public enum DigestError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    /// A key file that is not what the operation needs (see `Ed25519PublicKey`).
    case invalidKey(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "cannot read \(path) to hash it: \(reason)"
        case .invalidKey(let path, let reason): return "\(path): \(reason)"
        }
    }
}
