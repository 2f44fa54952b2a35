import CDeflate
import Foundation
import KbuildCore
import KbuildDigest

/// How every member of a zip is written. The determinism rules live here, as in `TarOptions`.
public struct ZipOptions: Sendable, Hashable {
    /// The time of every entry (SOURCE_DATE_EPOCH, as a DOS date and time in UTC).
    public var mtime: SourceDate
    /// libdeflate level, 1–12 (6 is gzip's and zip's default).
    public var level: Int
    /// Digests computed over the written bytes while writing.
    public var hashing: TarOptions.Hashing
    /// Deflate threads shared with the other archives of a release; nil deflates on the calling thread.
    /// The bytes never depend on it.
    public var pool: DeflatePool?

    public init(mtime: SourceDate, level: Int = 6, hashing: TarOptions.Hashing = .checksums, pool: DeflatePool? = nil) {
        self.mtime = mtime
        self.level = level
        self.hashing = hashing
        self.pool = pool
    }
}

/// Writes a deterministic zip: members in the order added (`normalizedForArchive()`: sorted, parents
/// first), each deflated whole by libdeflate (stored when deflate does not make it smaller), one DOS
/// time from SOURCE_DATE_EPOCH in UTC, "version made by" Unix with the Unix mode in the external
/// attributes (0755 executables and directories, 0644 files, symlinks as links), no extra fields,
/// no data descriptors, no comments. No zip64: a member or archive of 4 GiB or more is refused.
/// Members of at least `ZipFormat.poolThreshold` bytes deflate on the pool, several at once.
/// Bytes go to a temporary sibling and are hashed as written; `finish()` renames the file into
/// place. A writer dropped without `finish()` leaves nothing behind.
public final class ZipWriter {
    private let options: ZipOptions
    private let path: String
    private let temporary: String
    private let sink: Sink
    private let time: ZipFormat.DOSTime
    private var central: [UInt8] = []
    private var count = 0
    /// Members added but not yet written, oldest first; written in this order whatever finishes first.
    private var pending: [ZipMember] = []
    private var pendingHead = 0
    private var pendingBytes: Int64 = 0
    private var local = CompressorCache()
    private var finished = false

    public init(path: String, options: ZipOptions) throws(ArchiveError) {
        guard FastGzip.levels.contains(options.level) else {
            throw .invalidLevel(
                path: path, level: options.level,
                allowed: "\(FastGzip.levels.lowerBound)-\(FastGzip.levels.upperBound)")
        }
        self.path = path
        self.options = options
        time = ZipFormat.DOSTime(options.mtime)
        (sink, temporary) = try Sink.createTemporary(for: path, hashing: options.hashing)
    }

    deinit {
        // Abandoned: members still on the pool must finish before their buffers go away.
        for member in pending[pendingHead...] { member.wait() }
        if !finished {
            close(sink.fd)
            unlink(temporary)
        }
    }

    /// Adds one entry. Callers add entries in `normalizedForArchive()` order.
    public func add(_ entry: TarEntry) throws(ArchiveError) {
        let member = try ZipMember(entry: entry, level: options.level, archive: path)
        if let pool = options.pool, pool.threads > 1, member.input.count >= ZipFormat.poolThreshold,
            pool.reserveSlot()
        {
            member.pool = pool
            pool.submit(member)
        } else {
            member.compress(with: local.compressor(level: options.level))
        }
        pending.append(member)
        pendingBytes += Int64(member.input.count)
        let threads = options.pool?.threads ?? 1
        // Bounded: a few members per thread, and no more input mapped than the cap (at least one member).
        while pending.count - pendingHead > 2 * threads || pendingBytes > ZipFormat.pendingCap {
            guard pending.count - pendingHead > 1 else { break }
            try writeOldest()
        }
    }

    /// Adds entries after normalizing them (sorted, parents added).
    public func add(contentsOf entries: [TarEntry]) throws(ArchiveError) {
        for entry in try entries.normalizedForArchive() { try add(entry) }
    }

    /// Writes the remaining members and the central directory, syncs and renames into place.
    public func finish() throws(ArchiveError) -> WrittenArchive {
        while pendingHead < pending.count { try writeOldest() }
        guard count < 0xFFFF else { throw zip64(culprit: path, what: "\(count) entries", limit: "65,534 entries") }
        let directoryOffset = sink.written
        let directorySize = Int64(central.count)
        guard directoryOffset + directorySize < 0xFFFF_FFFF else {
            throw zip64(culprit: path, what: "\(directoryOffset + directorySize) bytes", limit: "4 GiB - 1 bytes")
        }
        var end = ZipFormat.Bytes()
        end.u32(0x0605_4b50)
        end.u16(0)  // this disk
        end.u16(0)  // disk of the central directory
        end.u16(UInt16(count))
        end.u16(UInt16(count))
        end.u32(UInt32(directorySize))
        end.u32(UInt32(directoryOffset))
        end.u16(0)  // comment length
        try emit(central)
        try emit(end.bytes)
        finished = true
        defer { close(sink.fd) }
        try sink.commit(temporary)
        return WrittenArchive(path: path, size: sink.written, digests: sink.takeDigests())
    }

    private func writeOldest() throws(ArchiveError) {
        let member = pending[pendingHead]
        pendingHead += 1
        if pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
        }
        member.wait()
        pendingBytes -= Int64(member.input.count)
        let offset = sink.written
        guard offset + Int64(ZipFormat.localHeaderSize + member.name.count) + Int64(member.output.count) < 0xFFFF_FFFF
        else {
            throw zip64(culprit: path, what: "more than 4 GiB before \(member.displayName)", limit: "4 GiB - 1 bytes")
        }
        try emit(ZipFormat.localHeader(member, time: time))
        try emit(member.output)
        central.append(contentsOf: ZipFormat.centralHeader(member, time: time, offset: UInt32(offset)))
        count += 1
    }

    private func emit(_ bytes: [UInt8]) throws(ArchiveError) {
        try emit(bytes.withUnsafeBytes { sink.write($0) })
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        try emit(sink.write(bytes))
    }

    private func emit(_ status: Int) throws(ArchiveError) {
        guard status >= 0 else {
            unlink(temporary)
            throw sink.failure ?? .io(path: path, reason: "cannot write")
        }
    }

    private func zip64(culprit: String, what: String, limit: String) -> ArchiveError {
        unlink(temporary)
        return .zip64Required(
            path: culprit, reason: "\(what) would need zip64, which kbuild does not write; allowed: up to \(limit)")
    }
}

extension Zip {
    /// Writes `entries` (normalized) to `path` as one deterministic zip.
    @discardableResult
    public static func write(_ entries: [TarEntry], to path: String, options: ZipOptions) throws(ArchiveError)
        -> WrittenArchive
    {
        let writer = try ZipWriter(path: path, options: options)
        try writer.add(contentsOf: entries)
        return try writer.finish()
    }
}

/// Namespace for whole-zip operations.
public enum Zip {}
