import CArchive
import CDeflate
import Foundation
import KbuildCore

/// The inflated bytes of a gzip file whose members each hold at most `cap` bytes — what kbuild writes
/// (`FastGzip`: members of at most 1 MiB, entry-aligned) — each member inflated whole by libdeflate,
/// which costs less CPU than zlib's streaming inflate (docs/verify.md). The file is hostile until
/// proven otherwise: a member is read into a window of at most `window` bytes and inflated into a buffer
/// of `cap` bytes, never more; libdeflate checks each member's CRC-32 and size field (ISIZE) against
/// what it wrote.
/// A first member larger than the cap is not kbuild's (GNU gzip, pigz and zlib write one member):
/// `open` returns nil and the caller streams the file with zlib instead. Past the first member, a member
/// over the cap (a bomb), with a lying ISIZE or CRC-32, or cut short is refused, named by its offset.
final class GzipMembers {
    /// The most one member may inflate to: `FastGzip.blockSize`, the most kbuild puts in one.
    static let cap = FastGzip.blockSize
    /// Compressed bytes held at once: a member of `cap` bytes deflates to at most `cap` plus a little
    /// (stored blocks), with a header that may carry a name or extra field of up to 64 KiB.
    static let window = 2 * cap + (256 << 10)
    /// What must be in the window before a member is inflated (unless the file ends first).
    private static let needed = cap + (192 << 10)

    let path: String
    private let fd: Int32
    private let input = UnsafeMutableRawPointer.allocate(byteCount: window, alignment: 64)
    private let output = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 64)
    private let decompressor: OpaquePointer
    /// Valid input is `input[start..<end]`; `start` is at file offset `offset`.
    private var start = 0
    private var end = 0
    private var offset: Int64 = 0
    private var atEOF = false
    /// The member inflated by `open`, handed out by the first `next()`.
    private var pending: Int?
    /// Why `next()` returned nil before the end, for the reader to throw.
    private(set) var failure: ArchiveError?

    private init(path: String, fd: Int32, decompressor: OpaquePointer) {
        self.path = path
        self.fd = fd
        self.decompressor = decompressor
    }

    deinit {
        close(fd)
        libdeflate_free_decompressor(decompressor)
        input.deallocate()
        output.deallocate()
    }

    /// The file's members, when it is gzip whose first member fits the cap; nil when it is not gzip,
    /// or its first member is larger or unreadable (the caller streams it with zlib, which reports any damage).
    static func open(_ path: String) throws(ArchiveError) -> GzipMembers? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot read: \(String(cString: strerror(errno)))") }
        var status = stat()
        // Only a regular file: a FIFO or device is left to the streaming reader's own checks.
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG,
            let decompressor = libdeflate_alloc_decompressor()
        else {
            close(fd)
            return nil
        }
        let members = GzipMembers(path: path, fd: fd, decompressor: decompressor)
        try members.fill()
        guard members.end - members.start >= 2, members.input.load(as: UInt16.self) == UInt16(0x8b1f).littleEndian
        else { return nil }
        guard case .inflated(let count) = members.inflate() else { return nil }
        members.pending = count
        return members
    }

    /// The next member's bytes (valid until the next call; empty members skipped), or nil at the end of
    /// the gzip stream or on a refused member (`failure` says why).
    func next() -> UnsafeRawBufferPointer? {
        if let count = pending {
            pending = nil
            if count > 0 { return UnsafeRawBufferPointer(start: output, count: count) }
        }
        while true {
            do {
                try fill()
            } catch {
                failure = error
                return nil
            }
            // As gzip and libarchive: what follows the last member, unless it starts another, is not read.
            guard end - start >= 2,
                input.loadUnaligned(fromByteOffset: start, as: UInt16.self) == UInt16(0x8b1f).littleEndian
            else { return nil }
            switch inflate() {
            case .inflated(0): continue
            case .inflated(let count): return UnsafeRawBufferPointer(start: output, count: count)
            case .refused(let reason):
                failure = .corrupt(archive: path, reason: "gzip member at byte \(offset) \(reason)")
                return nil
            }
        }
    }

    private enum Inflated {
        case inflated(Int)
        case refused(String)
    }

    /// Inflates the member at `start` into `output` and steps past it.
    private func inflate() -> Inflated {
        var used = 0
        var written = 0
        let result = libdeflate_gzip_decompress_ex(
            decompressor, input + start, end - start, output, Self.cap, &used, &written)
        switch result {
        case LIBDEFLATE_SUCCESS:
            start += used
            offset += Int64(used)
            return .inflated(written)
        case LIBDEFLATE_INSUFFICIENT_SPACE:
            return .refused(
                "inflates to more than \(Self.cap >> 20) MiB; kbuild's gzip members hold at most \(Self.cap >> 20) MiB each"
            )
        default:
            // The window holds the largest member kbuild writes, or the rest of the file: the member is whole
            // or the file ends inside it.
            return .refused(
                "is corrupt or cut short: its deflate data, CRC-32 or size field (ISIZE) does not match what it inflates to"
            )
        }
    }

    /// Tops the window up to hold the largest member kbuild writes, moving what is left to its front.
    private func fill() throws(ArchiveError) {
        guard !atEOF, end - start < Self.needed else { return }
        if start > 0 {
            memmove(input, input + start, end - start)
            end -= start
            start = 0
        }
        while end < Self.window {
            let n = read(fd, input + end, Self.window - end)
            if n == 0 {
                atEOF = true
                return
            }
            guard n > 0 else {
                if errno == EINTR { continue }
                throw .io(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
            }
            end += n
        }
    }

    /// libarchive's read callback: `client` is the members, unretained; one inflated member per call.
    static func readCallback(_ client: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UnsafeRawPointer?>?)
        -> Int
    {
        guard let client, let buffer else { return -1 }
        let members = Unmanaged<GzipMembers>.fromOpaque(client).takeUnretainedValue()
        guard let chunk = members.next() else { return members.failure == nil ? 0 : -1 }
        buffer.pointee = chunk.baseAddress
        return chunk.count
    }
}
