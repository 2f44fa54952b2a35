import CDeflate
import Foundation
import KbuildCore
import KbuildDigest

/// Gzip members of `.fastGzip` blocks by content, so that bytes one release packs several times (the
/// client binaries that the server and node tarballs repeat) are deflated once, and bytes an earlier
/// release packed are not deflated again. Only entry-aligned blocks are looked up (a large file's
/// data, cut by its content, so equal files give equal blocks in any archive).
/// Keyed by the block's sha256, the level and the libdeflate version. Held in memory (bounded, the
/// oldest dropped first) and, with a directory, on disk under `<directory>/<library>/`; a member read
/// from disk is inflated and compared with the block before it is used, so a corrupt entry is
/// recomputed, never shipped. Shared through the `DeflatePool` of the archives packed at once.
public final class DeflateCache: @unchecked Sendable {
    // Safety: `memory`, `order`, `memoryBytes` and `counts` are only touched under `lock`.
    /// How the blocks looked up so far were served.
    public struct Counts: Sendable, Hashable {
        /// Members found in memory (compressed earlier in this process).
        public var memoryHits = 0
        /// Members read from disk and proven to inflate to the block.
        public var diskHits = 0
        /// Blocks deflated because no member was found.
        public var deflated = 0
        /// Disk entries that did not inflate to their block (recomputed and rewritten).
        public var corrupt = 0
        /// Bytes of the blocks deflated.
        public var deflatedBytes: Int64 = 0
    }

    /// The smallest bound worth pruning to: a few releases of a small project.
    public static let minimumDiskBytes: Int64 = 256 << 20

    /// Where members are kept across runs; nil keeps them in memory only.
    public let directory: String?
    /// Most bytes of members kept in memory.
    public let memoryLimit: Int
    private let lock = NSLock()
    private var memory: [String: [UInt8]] = [:]
    private var order: [String] = []
    private var orderHead = 0
    private var memoryBytes = 0
    private var counts = Counts()

    /// `directory` (e.g. `_output/cache/deflate`) is created when the first member is stored. The
    /// memory layer is small on purpose: the disk (and the page cache over it) holds the rest.
    public init(directory: String?, memoryLimit: Int = 8 << 20) {
        self.directory = directory.map { $0 + "/" + FastGzip.library.replacingOccurrences(of: " ", with: "-") }
        self.memoryLimit = memoryLimit
    }

    /// How blocks were served so far.
    public var snapshot: Counts {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }

    /// The gzip member of `input` at `level`: from memory, from disk, or made by `deflate` and kept.
    func member(of input: UnsafeRawBufferPointer, level: Int, deflate: () -> [UInt8]) -> [UInt8] {
        var hasher = Digest.Hasher(.sha256)
        hasher.update(input)
        let key = "\(level)-" + hasher.finalize().hex
        if let found = fromMemory(key) { return found }
        if let found = fromDisk(key, input: input) {
            remember(key, found)
            return found
        }
        let made = deflate()
        count {
            $0.deflated += 1
            $0.deflatedBytes += Int64(input.count)
        }
        remember(key, made)
        store(key, made)
        return made
    }

    /// Deletes the oldest members on disk (by modification time; a hit refreshes it) until at most
    /// `maxBytes` remain. Blocking I/O: run it off the cooperative pool.
    public func prune(maxBytes: Int64) {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        var files: [(path: String, size: Int64, time: Int)] = []
        for name in names where !name.hasPrefix(".") {
            var info = stat()
            let path = directory + "/" + name
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            files.append((path, Int64(info.st_size), info.st_mtim.tv_sec))
        }
        var total = files.reduce(0) { $0 + $1.size }
        for file in files.sorted(by: { ($0.time, $0.path) < ($1.time, $1.path) }) where total > maxBytes {
            unlink(file.path)
            total -= file.size
        }
    }

    private func count(_ change: (inout Counts) -> Void) {
        lock.lock()
        change(&counts)
        lock.unlock()
    }

    private func fromMemory(_ key: String) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        guard let found = memory[key] else { return nil }
        counts.memoryHits += 1
        return found
    }

    private func remember(_ key: String, _ member: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        guard member.count <= memoryLimit, memory.updateValue(member, forKey: key) == nil else { return }
        order.append(key)
        memoryBytes += member.count
        while memoryBytes > memoryLimit, orderHead < order.count {
            memoryBytes -= memory.removeValue(forKey: order[orderHead])?.count ?? 0
            orderHead += 1
        }
        if orderHead > 1024 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
    }

    /// A member from disk, only when it inflates to exactly `input`.
    private func fromDisk(_ key: String, input: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let directory else { return nil }
        let path = directory + "/" + key
        // A member is never larger than its block plus deflate's worst case; anything bigger is corrupt.
        guard access(path, F_OK) == 0 else { return nil }
        let bytes = try? FileKind.readRegularFile(path, limit: input.count + input.count / 8 + 1024)
        guard let bytes = bytes.map(Array.init), DeflateCache.inflates(bytes, to: input) else {
            count { $0.corrupt += 1 }
            unlink(path)
            return nil
        }
        count { $0.diskHits += 1 }
        utimensat(AT_FDCWD, path, nil, 0)  // recently used: pruned last
        return bytes
    }

    private func store(_ key: String, _ member: [UInt8]) {
        guard let directory else { return }
        // Best effort: a cache that cannot be written costs time, never the release.
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? FileOutput.writeAtomically(Data(member), to: directory + "/" + key, durable: false)
    }

    /// True when `member` is one gzip member whose content is `input`, byte for byte.
    static func inflates(_ member: [UInt8], to input: UnsafeRawBufferPointer) -> Bool {
        guard let decompressor = libdeflate_alloc_decompressor() else { return false }
        defer { libdeflate_free_decompressor(decompressor) }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(input.count, 1), alignment: 64)
        defer { out.deallocate() }
        var inUsed = 0
        var outUsed = 0
        let result = member.withUnsafeBytes { raw in
            libdeflate_gzip_decompress_ex(
                decompressor, raw.baseAddress, raw.count, out.baseAddress, out.count, &inUsed, &outUsed)
        }
        guard result == LIBDEFLATE_SUCCESS, inUsed == member.count, outUsed == input.count else { return false }
        guard let expected = input.baseAddress, let got = out.baseAddress else { return input.count == 0 }
        return memcmp(got, expected, input.count) == 0
    }
}
