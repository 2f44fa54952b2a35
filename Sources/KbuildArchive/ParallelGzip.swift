import CDeflate
import Foundation

/// The gzip stream of `TarOptions.Compression.fastGzip`: the tar bytes are cut into blocks of at
/// most `blockSize`, and each block becomes one complete gzip member (RFC 1952 allows concatenated
/// members; GNU gzip/tar, Go's gzip.Reader and libarchive read them). Blocks follow entries: the data
/// of an entry of `alignedSize` or more (with its padding) starts a block and ends one (the headers and
/// small files between fill blocks of their own); past `minimumBlockSize` a block also ends at a
/// content-defined cut (`contentCut`). So a file gives the same blocks in any archive, and mostly the
/// same when embedded at another offset (a binary inside its image tarball). Joined as whole members, not pigz-style (one deflate
/// stream, full flushes, a combined CRC-32): libdeflate has no flush, and a whole member, with its own
/// CRC-32 and size, is reused from `DeflateCache` verbatim.
/// Blocks are deflated by libdeflate on a shared pool and written in order, so the bytes depend only
/// on the input, the level and the libdeflate version, never on thread counts or the cache.
enum FastGzip {
    /// Input bytes per gzip member: large enough that the lost cross-block dictionary costs
    /// well under 1% of size, small enough that a few blocks in flight keep memory low.
    static let blockSize = 1 << 20

    /// The library whose output the bytes depend on (for cache keys and reports).
    static let library = "libdeflate " + LIBDEFLATE_VERSION_STRING

    /// Names the block layout for cache keys; a new layout gets a new name.
    static let blockLayout =
        "entry-aligned from \(alignedSize >> 10) KiB, gear cuts \(minimumBlockSize >> 10) KiB to \(blockSize >> 10) KiB, v1"

    /// No content-defined cut before this many bytes of a block.
    static let minimumBlockSize = 512 << 10

    /// A cut wherever the top `cutBits` of the gear hash are zero: one every 128 KiB on average past the minimum.
    static let cutBits: UInt64 = 17

    /// The gear hash's table: 256 fixed pseudo-random words (splitmix64 from seed 0). Part of the
    /// block layout: changing it changes the bytes.
    static let gearTable: [UInt64] = {
        var state: UInt64 = 0
        return (0..<256).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }()

    /// Content-defined chunking (a gear rolling hash, as FastCDC): the first offset in `count` bytes
    /// after which a block ends, or nil. The hash is shifted one bit per byte, so its top bits depend
    /// only on the last 64 bytes: a file embedded at another offset (a binary inside an image tarball,
    /// or after a changed header) finds the same cuts again within a block or two, and gives the same
    /// blocks from there on. `gear` carries the hash across calls within one block.
    static func contentCut(in bytes: UnsafeRawPointer, count: Int, gear: inout UInt64) -> Int? {
        let table = gearTable
        var hash = gear
        defer { gear = hash }
        return table.withUnsafeBufferPointer { table in
            let shift = 64 - cutBits
            for index in 0..<count {
                hash = (hash << 1) &+ table[Int(bytes.load(fromByteOffset: index, as: UInt8.self))]
                if hash >> shift == 0 { return index + 1 }
            }
            return nil
        }
    }

    /// Entries with at least this much data get blocks of their own, cut at the data's offsets.
    static let alignedSize: Int64 = 256 << 10

    /// Gzip levels libdeflate supports (1–9 as in gzip, 10–12 slower and smaller).
    static let levels = 1...12

    /// Member header: no name, no comment, MTIME 0, XFL 0, OS 3 (Unix, as GNU gzip and libarchive).
    static let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]

    /// `source` deflated into one complete gzip member: header, deflate stream, CRC-32, size.
    static func member(of source: UnsafeRawBufferPointer, with compressor: OpaquePointer) -> [UInt8] {
        let bound = libdeflate_deflate_compress_bound(compressor, source.count)
        return [UInt8](unsafeUninitializedCapacity: header.count + bound + 8) { buffer, count in
            let start = UnsafeMutableRawPointer(buffer.baseAddress!)
            header.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: header.count) }
            let deflated = libdeflate_deflate_compress(
                compressor, source.baseAddress, source.count, start + header.count, bound)
            let crc = libdeflate_crc32(0, source.baseAddress, source.count)
            count = header.count + deflated
            for value in [UInt32(crc), UInt32(truncatingIfNeeded: source.count)] {
                for shift in stride(from: 0, to: 32, by: 8) {
                    buffer[count] = UInt8(truncatingIfNeeded: value >> UInt32(shift))
                    count += 1
                }
            }
        }
    }
}

/// Work a `DeflatePool` thread runs: a gzip block, a zip member. The pool slot a job holds is
/// returned when the job is dropped, so memory stays bounded even when a writer is abandoned.
protocol DeflateJob: AnyObject, Sendable {
    var level: Int { get }
    /// Compresses with `compressor`, a level-`level` libdeflate compressor owned by the calling thread.
    func compress(with compressor: OpaquePointer)
    func markDone()
}

/// One block on its way through the pool. The pool slot it holds is returned when it is dropped,
/// so memory stays bounded even when a writer is abandoned with blocks in flight.
final class DeflateBlock: DeflateJob, @unchecked Sendable {
    // Safety: `input` and `cache` are written only before submission, `output` only by the one
    // thread compressing it, and read by the writer only after `done` is signalled.
    /// `FastGzip.blockSize` bytes, of which `inputCount` are filled.
    let input: UnsafeMutableRawPointer
    var inputCount = 0
    /// The complete gzip member, once compressed.
    private(set) var output: [UInt8] = []
    let level: Int
    private let done = DispatchSemaphore(value: 0)
    /// The pool whose slot this block holds; nil for a block compressed by its writer.
    let pool: DeflatePool?
    /// Set for an entry-aligned block: its member is looked up there by content first.
    var cache: DeflateCache?

    init(level: Int, pool: DeflatePool?) {
        input = .allocate(byteCount: FastGzip.blockSize, alignment: 64)
        self.level = level
        self.pool = pool
    }

    deinit {
        input.deallocate()
        pool?.releaseSlot()
    }

    /// Makes `output`, the block's complete gzip member: from the cache, or deflated with
    /// `compressor` (one per thread).
    func compress(with compressor: OpaquePointer) {
        let source = UnsafeRawBufferPointer(start: input, count: inputCount)
        guard let cache else {
            output = FastGzip.member(of: source, with: compressor)
            return
        }
        output = cache.member(of: source, level: level) { FastGzip.member(of: source, with: compressor) }
    }

    func markDone() { done.signal() }

    /// Blocks until a pool thread has compressed this block.
    func wait() { done.wait() }
}

/// Compressor per (thread, level), allocated once and reused: libdeflate compressors are not
/// thread-safe but are independent between calls.
struct CompressorCache: ~Copyable {
    private var compressors: [Int: OpaquePointer] = [:]

    mutating func compressor(level: Int) -> OpaquePointer {
        if let existing = compressors[level] { return existing }
        // Levels are validated before any block exists; nil here means out of memory.
        guard let made = libdeflate_alloc_compressor(CInt(level)) else {
            preconditionFailure("libdeflate cannot allocate a level \(level) compressor")
        }
        compressors[level] = made
        return made
    }

    deinit {
        for compressor in compressors.values { libdeflate_free_compressor(compressor) }
    }
}

/// Deflate threads shared by every tarball one release writes, so that packing several tarballs at
/// once does not oversubscribe the CPU. A fixed number of slots bounds the blocks in flight across
/// all writers (and so the memory). Owned by whoever packs (the release's pack step): `shutdown()`
/// ends its threads once no writer uses it.
public final class DeflatePool: @unchecked Sendable, Hashable {
    // Safety: `queue`, `freeSlots` and `stopping` are only touched under `condition`.
    public let threads: Int
    /// Members of entry-aligned blocks by content, shared by the archives this pool compresses.
    public let cache: DeflateCache?
    private let condition = NSCondition()
    /// Taken entries are nil: a job the pool still referenced would keep its slot (see `DeflateBlock.deinit`).
    private var queue: [(any DeflateJob)?] = []
    private var queueHead = 0
    private var freeSlots: Int
    private var stopping = false

    /// Starts `threads` deflate threads (at least one). With `cache`, each entry-aligned block is
    /// deflated once (see `DeflateCache`); the bytes written are the same with or without it.
    public init(threads: Int, cache: DeflateCache? = nil) {
        self.threads = max(threads, 1)
        self.cache = cache
        // Two per thread keeps every thread busy while writers fill and drain in order.
        freeSlots = 2 * self.threads + 2
        for index in 0..<self.threads {
            let thread = Thread { [self] in run() }
            thread.name = "kbuild-deflate-\(index)"
            thread.start()
        }
    }

    /// A new block holding a slot, or nil when every slot is taken (the caller then compresses
    /// on its own thread or waits for one of its own blocks; it never waits for other writers).
    func reserveBlock(level: Int) -> DeflateBlock? {
        reserveSlot() ? DeflateBlock(level: level, pool: self) : nil
    }

    /// Takes a slot for a job that calls `releaseSlot()` when dropped; false when every slot is taken.
    func reserveSlot() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard freeSlots > 0 else { return false }
        freeSlots -= 1
        return true
    }

    func releaseSlot() {
        condition.lock()
        freeSlots += 1
        condition.unlock()
    }

    /// Ends the threads after the blocks already queued; writers must be finished.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    public static func == (lhs: DeflatePool, rhs: DeflatePool) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    func submit(_ job: any DeflateJob) {
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        var cache = CompressorCache()
        while true {
            condition.lock()
            while queueHead == queue.count && !stopping { condition.wait() }
            if queueHead == queue.count {
                condition.unlock()
                return
            }
            let taken = queue[queueHead]
            queue[queueHead] = nil
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            } else if queueHead > 64 && queueHead * 2 > queue.count {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            condition.unlock()
            guard let job = taken else { continue }
            job.compress(with: cache.compressor(level: job.level))
            job.markDone()
        }
    }
}

/// Cuts one stream into blocks, has them compressed (in parallel when allowed) and hands the
/// finished members to `emit` in input order.
final class ParallelGzipStream {
    private let level: Int
    private let pool: DeflatePool?
    private let cache: DeflateCache?
    /// True between `cut(aligned: true)` and the next cut: new blocks are entry-aligned.
    private var aligned = false
    /// The content-defined cut's rolling hash over the current block's bytes past its minimum size.
    private var gear: UInt64 = 0
    /// Most blocks of this stream in flight at once.
    private let maxInFlight: Int
    /// Written entries are nil, so that their slots return to the pool at once.
    private var inFlight: [DeflateBlock?] = []
    private var inFlightHead = 0
    private var current: DeflateBlock?
    private var local = CompressorCache()
    private var members = 0
    /// Blocks compressed on the writer's own thread (no pool, or no free slot).
    private(set) var compressedHere = 0
    private let emit: (UnsafeRawBufferPointer) -> Bool

    /// Without a pool (or with a one-thread pool) compresses on the calling thread only; else uses
    /// `pool` with up to twice its threads of this stream's blocks in flight. `emit` returns false to
    /// stop (a write failed).
    init(level: Int, pool: DeflatePool?, emit: @escaping (UnsafeRawBufferPointer) -> Bool) {
        self.level = level
        let threads = pool?.threads ?? 1
        self.pool = threads > 1 ? pool : nil
        cache = pool?.cache
        maxInFlight = threads > 1 ? 2 * threads : 0
        self.emit = emit
    }

    deinit {
        // Abandoned (a failed write): let running blocks finish before their buffers go away.
        for case let block? in inFlight[inFlightHead...] { block.wait() }
    }

    /// Appends stream bytes; false when `emit` failed.
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let block = current ?? newBlock()
            if current == nil {
                if aligned { block.cache = cache }
                gear = 0
            }
            current = block
            guard let base = bytes.baseAddress else { return true }
            var n = min(FastGzip.blockSize - block.inputCount, bytes.count - offset)
            var full = block.inputCount + n == FastGzip.blockSize
            // Past the minimum, the block may end where the content says (see `FastGzip.contentCut`).
            let scanFrom = max(FastGzip.minimumBlockSize - block.inputCount, 0)
            if scanFrom < n,
                let cut = FastGzip.contentCut(in: base + offset + scanFrom, count: n - scanFrom, gear: &gear)
            {
                n = scanFrom + cut
                full = true
            }
            (block.input + block.inputCount).copyMemory(from: base + offset, byteCount: n)
            block.inputCount += n
            offset += n
            if full {
                current = nil
                guard dispatch(block) else { return false }
            }
        }
        return true
    }

    /// Ends the current block at this offset of the stream, so that the next bytes start a block of
    /// their own. With `aligned`, the blocks up to the next cut hold one entry's data (ended by its
    /// content-defined cuts): equal files give equal blocks, looked up in the pool's cache.
    func cut(aligned: Bool) -> Bool {
        if let block = current, block.inputCount > 0 {
            current = nil
            guard dispatch(block) else { return false }
        }
        self.aligned = aligned
        return true
    }

    /// Compresses what is left and writes every remaining member; false when `emit` failed.
    func finish() -> Bool {
        // An empty stream is still one (empty) member: a gzip file has at least one.
        if let block = current ?? (members == 0 && inFlightCount == 0 ? newBlock() : nil) {
            current = nil
            guard dispatch(block) else { return false }
        }
        while inFlightCount > 0 {
            guard drainOldest() else { return false }
        }
        return true
    }

    private var inFlightCount: Int { inFlight.count - inFlightHead }

    private func newBlock() -> DeflateBlock {
        // A pool block holds a global slot; without one (or without a pool) the block is ours alone.
        if let pool, inFlightCount < maxInFlight, let block = pool.reserveBlock(level: level) { return block }
        return DeflateBlock(level: level, pool: nil)
    }

    /// Sends a full block to the pool, or compresses it here when it holds no slot.
    private func dispatch(_ block: DeflateBlock) -> Bool {
        guard let pool = block.pool else {
            // Our earlier blocks must go out first.
            while inFlightCount > 0 {
                guard drainOldest() else { return false }
            }
            block.compress(with: local.compressor(level: level))
            compressedHere += 1
            return write(block)
        }
        pool.submit(block)
        inFlight.append(block)
        // Keep only a bounded number of our blocks queued: write the oldest ones out.
        while inFlightCount >= maxInFlight {
            guard drainOldest() else { return false }
        }
        return true
    }

    private func drainOldest() -> Bool {
        let taken = inFlight[inFlightHead]
        inFlight[inFlightHead] = nil
        inFlightHead += 1
        if inFlightHead == inFlight.count {
            inFlight.removeAll(keepingCapacity: true)
            inFlightHead = 0
        }
        guard let block = taken else { return true }
        block.wait()
        return write(block)
    }

    private func write(_ block: DeflateBlock) -> Bool {
        members += 1
        guard !block.output.isEmpty else { return false }
        return block.output.withUnsafeBytes { emit($0) }
    }
}
