import CArchive
import Foundation
import KbuildCore
import KbuildDigest

/// How every entry of a tarball is written. The determinism rules live here, not at call sites.
public struct TarOptions: Sendable, Hashable {
    /// The compression of the whole stream.
    public enum Compression: Sendable, Hashable {
        case none
        /// gzip through libarchive (zlib), one member; the header carries no file name and no time.
        case gzip(level: Int)
        /// gzip through libdeflate in blocks of at most 1 MiB that follow entries (a large file's data
        /// is cut by its content), one gzip member each, compressed in parallel on `pool` (the
        /// caller's, shared by the tarballs it writes at once, with its `DeflateCache` if any: each
        /// distinct block deflated once) and written in order.
        /// Standard gzip that GNU tar/gzip, Go and libarchive read; the bytes depend only on the
        /// input, the level (1–12) and the libdeflate version, never on the pool (nil: every block
        /// on the calling thread).
        case fastGzip(level: Int, pool: DeflatePool? = nil)

        /// The library behind `.fastGzip`, e.g. "libdeflate 1.14": part of what its bytes depend on.
        public static var fastGzipLibrary: String { FastGzip.library }

        /// How `.fastGzip` cuts the stream into members: part of what its bytes depend on.
        public static var fastGzipBlocks: String { FastGzip.blockLayout }
    }

    public var compression: Compression
    /// The mtime of every entry (SOURCE_DATE_EPOCH).
    public var mtime: SourceDate
    /// Digests computed over the written bytes while writing.
    public var hashing: Hashing

    /// Which digests a writer computes while writing.
    public enum Hashing: Sendable, Hashable {
        case none
        /// Image layers and image tarballs (OCI digests).
        case sha256
        /// Release tarballs (SHA256SUMS and SHA512SUMS).
        case checksums
    }

    /// Owner and group of every entry: uid/gid 0, names `root`.
    public static let ownerName = "root"

    public init(compression: Compression, mtime: SourceDate, hashing: Hashing = .checksums) {
        self.compression = compression
        self.mtime = mtime
        self.hashing = hashing
    }
}

/// A finished archive on disk under its final name.
public struct WrittenArchive: Sendable, Hashable {
    public var path: String
    public var size: Int64
    public var digests: ArchiveDigests
}

/// What a writer computed over an archive's bytes, as `TarOptions.hashing` asked.
public enum ArchiveDigests: Sendable, Hashable {
    case none
    case sha256(Digest)
    case checksums(Checksums)

    /// The sha256, whichever way it was computed; an error names the archive when none was asked for.
    public func sha256(of path: String) throws(ArchiveError) -> Digest {
        switch self {
        case .sha256(let digest): return digest
        case .checksums(let checksums): return checksums.sha256
        case .none: throw .io(path: path, reason: "no sha256 was computed while writing (TarOptions.hashing is .none)")
        }
    }

    /// Both checksums; an error names the archive when they were not asked for.
    public func checksums(of path: String) throws(ArchiveError) -> Checksums {
        guard case .checksums(let checksums) = self else {
            throw .io(
                path: path, reason: "no checksums were computed while writing (TarOptions.hashing is not .checksums)")
        }
        return checksums
    }
}

/// Writes a deterministic tar or tar.gz: pax (restricted) format that GNU tar and Go read,
/// uid/gid 0, normalized modes, one mtime, no atime/ctime/xattrs.
/// Bytes go to a temporary sibling and are hashed as they are written; `finish()` renames
/// the file into place. A writer dropped without `finish()` leaves nothing behind.
public final class TarballWriter {
    private let archive: OpaquePointer
    private let sink: Sink
    private let options: TarOptions
    private let path: String
    private let temporary: String
    private var finished = false

    public init(path: String, options: TarOptions) throws(ArchiveError) {
        self.path = path
        self.options = options
        (sink, temporary) = try Sink.createTemporary(for: path, hashing: options.hashing)
        let fd = sink.fd
        guard let archive = archive_write_new() else {
            close(fd)
            unlink(temporary)
            throw .library(operation: "archive_write_new", path: path, message: "out of memory")
        }
        self.archive = archive
        do throws(ArchiveError) {
            try archive_write_set_format_pax_restricted(archive).check(archive, "set tar format", path)
            switch options.compression {
            case .none:
                try archive_write_add_filter_none(archive).check(archive, "set no compression", path)
            case .fastGzip(let level, let pool):
                guard FastGzip.levels.contains(level) else {
                    throw ArchiveError.invalidLevel(
                        path: path, level: level, allowed: "\(FastGzip.levels.lowerBound)-\(FastGzip.levels.upperBound)"
                    )
                }
                // libarchive writes plain tar, unbuffered so that we see where each entry's data starts
                // and ends (`add`); we compress, and pad to 10240-byte records like GNU tar (`finish`).
                try archive_write_add_filter_none(archive).check(archive, "set no compression", path)
                try archive_write_set_bytes_per_block(archive, 0).check(archive, "set unbuffered", path)
                sink.compressWithGzip(level: level, pool: pool)
            case .gzip(let level):
                try archive_write_add_filter_gzip(archive).check(archive, "set gzip", path)
                // No time and no name in the gzip header: reproducible bytes.
                try archive_write_set_filter_option(archive, "gzip", "timestamp", nil)
                    .check(archive, "disable gzip timestamp", path)
                try archive_write_set_filter_option(archive, "gzip", "compression-level", String(level))
                    .check(archive, "set gzip level", path)
            }
            let client = Unmanaged.passUnretained(sink).toOpaque()
            try archive_write_open(archive, client, nil, sinkWrite, nil).check(archive, "open", path)
        } catch {
            archive_write_free(archive)
            close(fd)
            unlink(temporary)
            // Every property is set, so deinit runs on this throw: it must not free the archive again.
            finished = true
            throw error
        }
    }

    deinit {
        if !finished {
            archive_write_free(archive)
            close(sink.fd)
            unlink(temporary)
        }
    }

    /// Adds one entry. Callers add entries in `normalizedForArchive()` order.
    public func add(_ entry: TarEntry) throws(ArchiveError) {
        guard let header = archive_entry_new2(archive) else {
            throw .library(operation: "archive_entry_new", path: path, message: "out of memory")
        }
        defer { archive_entry_free(header) }
        let name: String
        switch entry.content {
        case .directory: name = entry.path + "/"
        default: name = entry.path
        }
        // Raw UTF-8 bytes as the "multibyte" name: kbuild never calls setlocale, so libarchive works in
        // the C locale whatever LANG says, and writes the same bytes (pax, hdrcharset=BINARY when non-ASCII).
        archive_entry_copy_pathname(header, name)
        archive_entry_set_uid(header, 0)
        archive_entry_set_gid(header, 0)
        archive_entry_set_uname(header, TarOptions.ownerName)
        archive_entry_set_gname(header, TarOptions.ownerName)
        archive_entry_set_mtime(header, time_t(options.mtime.seconds), 0)
        archive_entry_set_perm(header, mode_t(entry.mode))

        var source: CInt = -1
        defer { if source >= 0 { close(source) } }
        switch entry.content {
        case .directory:
            archive_entry_set_filetype(header, 0o040000)
            archive_entry_set_size(header, 0)
        case .symlink(let target):
            archive_entry_set_filetype(header, 0o120000)
            archive_entry_copy_symlink(header, target)
            archive_entry_set_size(header, 0)
        case .data(let bytes):
            archive_entry_set_filetype(header, 0o100000)
            archive_entry_set_size(header, la_int64_t(bytes.count))
        case .file(let sourcePath):
            source = open(sourcePath, O_RDONLY | O_CLOEXEC)
            var info = stat()
            guard source >= 0, fstat(source, &info) == 0 else {
                throw .io(path: sourcePath, reason: "cannot read: \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw .io(path: sourcePath, reason: "not a regular file")
            }
            archive_entry_set_filetype(header, 0o100000)
            archive_entry_set_size(header, la_int64_t(info.st_size))
        }
        try checkSink(archive_write_header(archive, header), "write header of \(entry.path)")
        // A large file's data (with its padding) gets gzip blocks of its own, so that the same file
        // gives the same members in every archive, deflated once (`DeflateCache`).
        let aligned = Int64(archive_entry_size(header)) >= FastGzip.alignedSize
        if aligned { try sink.cut(aligned: true) }

        switch entry.content {
        case .data(let bytes):
            let status = bytes.withUnsafeBytes { raw in
                raw.count == 0 ? 0 : archive_write_data(archive, raw.baseAddress, raw.count)
            }
            try checkSink(status, "write \(entry.path)")
        case .file(let sourcePath):
            try copyData(from: source, sourcePath: sourcePath, entry: entry.path)
        default:
            break
        }
        try checkSink(archive_write_finish_entry(archive), "finish \(entry.path)")
        if aligned { try sink.cut(aligned: false) }
    }

    /// Adds entries after normalizing them (sorted, parents added).
    public func add(contentsOf entries: [TarEntry]) throws(ArchiveError) {
        for entry in try entries.normalizedForArchive() { try add(entry) }
    }

    /// Closes the archive, syncs it and renames it onto its final path.
    public func finish() throws(ArchiveError) -> WrittenArchive {
        try checkSink(archive_write_close(archive), "close")
        archive_write_free(archive)
        finished = true
        defer { close(sink.fd) }
        do throws(ArchiveError) {
            try sink.padToRecord()
            try sink.finishStream()
        } catch {
            unlink(temporary)
            throw error
        }
        try sink.commit(temporary)
        return WrittenArchive(path: path, size: sink.written, digests: sink.takeDigests())
    }

    private func copyData(from fd: CInt, sourcePath: String, entry: String) throws(ArchiveError) {
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: sourcePath, reason: "cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return }
            try checkSink(archive_write_data(archive, buffer, n), "write \(entry)")
        }
    }

    /// A failure in our sink (disk full, say) is reported with its own reason, not libarchive's.
    private func checkSink(_ status: CInt, _ operation: String) throws(ArchiveError) {
        if let failure = sink.failure { throw failure }
        try status.check(archive, operation, path)
    }

    private func checkSink(_ status: Int, _ operation: String) throws(ArchiveError) {
        if let failure = sink.failure { throw failure }
        try status.check(archive, operation, path)
    }
}

extension Tarball {
    /// Writes `entries` (normalized) to `path` as one deterministic tarball.
    @discardableResult
    public static func write(_ entries: [TarEntry], to path: String, options: TarOptions) throws(ArchiveError)
        -> WrittenArchive
    {
        let writer = try TarballWriter(path: path, options: options)
        try writer.add(contentsOf: entries)
        return try writer.finish()
    }
}

/// Namespace for whole-tarball operations.
public enum Tarball {}

/// Receives the archive's bytes: writes them to the file and hashes them in the same pass.
final class Sink {
    let fd: CInt
    let path: String
    private(set) var written: Int64 = 0
    /// Uncompressed bytes given to the compressor.
    private var streamBytes: Int64 = 0
    private(set) var failure: ArchiveError?
    private var sha256: Digest.Hasher?
    private var checksums: Checksums.Hasher?
    /// Set for `.fastGzip`: the tar bytes go through it, its members come back to `writeOutput`.
    private var gzip: ParallelGzipStream?

    init(fd: CInt, path: String, hashing: TarOptions.Hashing) {
        self.fd = fd
        self.path = path
        switch hashing {
        case .none: break
        case .sha256: sha256 = Digest.Hasher(.sha256)
        case .checksums: checksums = Checksums.Hasher()
        }
    }

    func compressWithGzip(level: Int, pool: DeflatePool?) {
        gzip = ParallelGzipStream(level: level, pool: pool) { [unowned self] member in
            writeOutput(member) >= 0
        }
    }

    /// Bytes from libarchive: to the compressor when there is one, else straight to the file.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let gzip else { return writeOutput(bytes) }
        streamBytes += Int64(bytes.count)
        guard gzip.append(bytes) else {
            if failure == nil { failure = .io(path: path, reason: "compression failed") }
            return -1
        }
        return bytes.count
    }

    /// Starts a new gzip block at this offset (see `ParallelGzipStream.cut`); a no-op without compression.
    func cut(aligned: Bool) throws(ArchiveError) {
        guard let gzip else { return }
        guard gzip.cut(aligned: aligned) else { throw failure ?? .io(path: path, reason: "compression failed") }
    }

    /// Zeros up to a whole 10240-byte record, as libarchive pads when it buffers (it does not for
    /// `.fastGzip`): the tar bytes stay those of `.none` and `.gzip`. A no-op without compression.
    func padToRecord() throws(ArchiveError) {
        guard gzip != nil else { return }
        let record = 10240
        let zeros = [UInt8](repeating: 0, count: (record - Int(streamBytes % Int64(record))) % record)
        guard zeros.withUnsafeBytes({ write($0) }) >= 0 else {
            throw failure ?? .io(path: path, reason: "compression failed")
        }
    }

    /// Flushes the compressor's last members; a no-op without one.
    func finishStream() throws(ArchiveError) {
        guard let gzip = gzip.take() else { return }
        guard gzip.finish() else { throw failure ?? .io(path: path, reason: "compression failed") }
    }

    /// Final bytes of the file: written and hashed in one pass, so digests cost no read-back.
    private func writeOutput(_ bytes: UnsafeRawBufferPointer) -> Int {
        if let error = FileDescriptorIO.writeAll(fd, bytes) {
            failure = .io(path: path, reason: "cannot write: \(String(cString: strerror(error)))")
            return -1
        }
        sha256?.update(bytes)
        checksums?.update(bytes)
        written += Int64(bytes.count)
        return bytes.count
    }

    /// Creates `path`'s directory and a new temporary sibling of it, and a sink writing there.
    static func createTemporary(for path: String, hashing: TarOptions.Hashing) throws(ArchiveError)
        -> (Sink, String)
    {
        let temporary = FileOutput.temporarySibling(of: path)
        let directory = Paths.parent(of: path)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io(path: directory, reason: "cannot create directory: \(Escaping.reason(of: error))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot create: \(String(cString: strerror(errno)))") }
        return (Sink(fd: fd, path: path, hashing: hashing), temporary)
    }

    /// Syncs the finished temporary file and renames it onto `path`; removes it on failure.
    func commit(_ temporary: String) throws(ArchiveError) {
        guard fsync(fd) == 0 else {
            unlink(temporary)
            throw .io(path: path, reason: "cannot sync: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io(path: path, reason: "cannot rename into place: \(reason)")
        }
    }

    func takeDigests() -> ArchiveDigests {
        if let hasher = sha256.take() { return .sha256(hasher.finalize()) }
        if let hasher = checksums.take() { return .checksums(hasher.finalize()) }
        return .none
    }
}

private func sinkWrite(
    _ archive: OpaquePointer?, _ client: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int
) -> la_ssize_t {
    guard let client, let buffer else { return -1 }
    let sink = Unmanaged<Sink>.fromOpaque(client).takeUnretainedValue()
    return la_ssize_t(sink.write(UnsafeRawBufferPointer(start: buffer, count: length)))
}
