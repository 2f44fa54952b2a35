import CDeflate
import Foundation
import KbuildCore

/// The fixed parts of the zip format (PKWARE APPNOTE 6.3, without zip64, encryption or extra fields).
enum ZipFormat {
    /// Members at least this large deflate on the pool; smaller ones cost less than the hand-off.
    static let poolThreshold = 256 << 10
    /// Most input bytes of members added but not yet written (files are mapped, not copied).
    static let pendingCap: Int64 = 512 << 20
    static let localHeaderSize = 30
    /// "Version made by": high byte 3 (Unix, so unzip applies the mode), low byte 30 (APPNOTE 3.0), as Info-ZIP.
    static let madeBy: UInt16 = 3 << 8 | 30
    /// Bit 11: the name is UTF-8 (set only for non-ASCII names, as Info-ZIP does).
    static let utf8Flag: UInt16 = 1 << 11

    /// A DOS date and time: UTC fields of SOURCE_DATE_EPOCH (never local time), clamped to the
    /// format's 1980–2107 range, seconds rounded down to even.
    struct DOSTime: Sendable, Hashable {
        let time: UInt16
        let date: UInt16

        init(_ source: SourceDate) {
            var seconds = time_t(source.seconds)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let year = Int(parts.tm_year) + 1900
            if year < 1980 {
                (time, date) = (0, 1 << 5 | 1)  // 1980-01-01 00:00:00
            } else if year > 2107 {
                (time, date) = (23 << 11 | 59 << 5 | 29, 127 << 9 | 12 << 5 | 31)
            } else {
                time = UInt16(parts.tm_hour) << 11 | UInt16(parts.tm_min) << 5 | UInt16(parts.tm_sec / 2)
                date = UInt16(year - 1980) << 9 | UInt16(parts.tm_mon + 1) << 5 | UInt16(parts.tm_mday)
            }
        }
    }

    /// Little-endian field writer.
    struct Bytes {
        var bytes: [UInt8] = []
        mutating func u16(_ value: UInt16) {
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        }
        mutating func u32(_ value: UInt32) {
            u16(UInt16(truncatingIfNeeded: value))
            u16(UInt16(truncatingIfNeeded: value >> 16))
        }
    }

    /// The fields the local and central headers share, from "version needed" to "extra length".
    static func common(_ member: ZipMember, time: DOSTime, into out: inout Bytes) {
        out.u16(member.deflated ? 20 : 10)  // version needed: 2.0 for deflate, 1.0 otherwise
        out.u16(member.name.allSatisfy { $0 < 0x80 } ? 0 : utf8Flag)
        out.u16(member.deflated ? 8 : 0)
        out.u16(time.time)
        out.u16(time.date)
        out.u32(member.crc)
        out.u32(UInt32(member.output.count))
        out.u32(UInt32(member.input.count))
        out.u16(UInt16(member.name.count))
        out.u16(0)  // no extra fields: no UT/ux times or ids
    }

    static func localHeader(_ member: ZipMember, time: DOSTime) -> [UInt8] {
        var out = Bytes()
        out.u32(0x0403_4b50)
        common(member, time: time, into: &out)
        out.bytes.append(contentsOf: member.name)
        return out.bytes
    }

    static func centralHeader(_ member: ZipMember, time: DOSTime, offset: UInt32) -> [UInt8] {
        var out = Bytes()
        out.u32(0x0201_4b50)
        out.u16(madeBy)
        common(member, time: time, into: &out)
        out.u16(0)  // comment length
        out.u16(0)  // disk number
        out.u16(0)  // internal attributes
        // Unix type and mode in the high half; the MS-DOS directory bit in the low byte.
        out.u32(member.unixMode << 16 | (member.kind == .directory ? 0x10 : 0))
        out.u32(offset)
        out.bytes.append(contentsOf: member.name)
        return out.bytes
    }
}

/// One zip member on its way to the file: its input (a mapped file or bytes in memory), and once
/// compressed, its CRC-32 and the bytes stored in the archive.
final class ZipMember: DeflateJob, @unchecked Sendable {
    // Safety: `crc`, `deflatedBytes` and `deflated` are written only by the one thread compressing it,
    // and read by the writer only after `wait()`.
    enum Kind { case directory, file, symlink }

    let name: [UInt8]
    let displayName: String
    let kind: Kind
    let unixMode: UInt32
    let level: Int
    let input: UnsafeRawBufferPointer
    private let mapped: Bool
    private(set) var crc: UInt32 = 0
    private(set) var deflated = false
    private var deflatedBytes: UnsafeMutableRawBufferPointer?
    private var deflatedCount = 0
    private let done = DispatchSemaphore(value: 0)
    private var signalled = true
    /// The pool whose slot this member holds, if it was submitted there.
    var pool: DeflatePool? {
        didSet { signalled = false }
    }

    init(entry: TarEntry, level: Int, archive: String) throws(ArchiveError) {
        self.level = level
        displayName = entry.path
        unixMode = ZipMember.typeBits(entry.content) | entry.mode
        var mapped = false
        switch entry.content {
        case .directory:
            kind = .directory
            input = UnsafeRawBufferPointer(start: nil, count: 0)
        case .symlink(let target):
            kind = .symlink
            input = ZipMember.copy(Array(target.utf8))
        case .data(let bytes):
            kind = .file
            input = ZipMember.copy(bytes)
        case .file(let source):
            kind = .file
            input = try ZipMember.map(source)
            mapped = input.count > 0
        }
        self.mapped = mapped
        name = Array((kind == .directory ? entry.path + "/" : entry.path).utf8)
        // Fully initialized: a throw here runs deinit, which unmaps the input.
        guard input.count < 0xFFFF_FFFF, name.count <= 0xFFFF else {
            throw .zip64Required(
                path: archive,
                reason:
                    "entry \(Escaping.shown(entry.path)) is \(input.count) bytes; it would need zip64, which kbuild does not write; allowed: members up to 4 GiB - 1 bytes"
            )
        }
    }

    deinit {
        release()
        deflatedBytes?.deallocate()
        pool?.releaseSlot()
    }

    /// The bytes stored in the archive: deflated, or the input itself when deflate did not help.
    var output: UnsafeRawBufferPointer {
        guard deflated, let deflatedBytes else { return input }
        return UnsafeRawBufferPointer(rebasing: deflatedBytes[0..<deflatedCount])
    }

    func compress(with compressor: OpaquePointer) {
        guard let source = input.baseAddress, input.count > 0 else { return }
        crc = UInt32(libdeflate_crc32(0, source, input.count))
        guard kind == .file else { return }  // a link target is a few bytes: stored, as Info-ZIP does
        let bound = libdeflate_deflate_compress_bound(compressor, input.count)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bound, alignment: 64)
        let count = libdeflate_deflate_compress(compressor, source, input.count, buffer.baseAddress, bound)
        if count > 0 && count < input.count {
            deflatedBytes = buffer
            deflatedCount = count
            deflated = true
        } else {
            buffer.deallocate()
        }
    }

    func markDone() { done.signal() }

    /// Blocks until the pool has compressed this member; returns at once for one compressed here.
    func wait() {
        guard !signalled else { return }
        done.wait()
        signalled = true
    }

    private func release() {
        if mapped, let base = input.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), input.count)
        } else if let base = input.baseAddress {
            base.deallocate()
        }
    }

    private static func typeBits(_ content: TarEntry.Content) -> UInt32 {
        switch content {
        case .directory: return UInt32(S_IFDIR)
        case .symlink: return UInt32(S_IFLNK)
        case .file, .data: return UInt32(S_IFREG)
        }
    }

    private static func copy(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        guard !bytes.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        buffer.copyBytes(from: bytes)
        return UnsafeRawBufferPointer(buffer)
    }

    /// Maps a regular file read-only: the page cache is the buffer, so a large binary costs no copy.
    private static func map(_ source: String) throws(ArchiveError) -> UnsafeRawBufferPointer {
        let fd = open(source, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .io(path: source, reason: "cannot read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .io(path: source, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .io(path: source, reason: "not a regular file") }
        guard info.st_size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let base = mmap(nil, Int(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .io(path: source, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        return UnsafeRawBufferPointer(start: base, count: Int(info.st_size))
    }
}
