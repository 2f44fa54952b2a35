import Foundation
import KbuildCore

/// One entry of a zip's central directory, as `kbuild verify` checks it.
public struct ZipEntryInfo: Sendable, Hashable {
    /// The path inside the archive, without a directory's trailing `/`.
    public var path: String
    public var isDirectory: Bool
    public var isSymlink: Bool
    /// Permission bits (`0o7777`) from the Unix external attributes; 0 when not made on Unix.
    public var mode: UInt32
    /// Uncompressed size.
    public var size: Int64
    public var crc32: UInt32

    public init(path: String, isDirectory: Bool, isSymlink: Bool, mode: UInt32, size: Int64, crc32: UInt32) {
        self.path = path
        self.isDirectory = isDirectory
        self.isSymlink = isSymlink
        self.mode = mode
        self.size = size
        self.crc32 = crc32
    }
}

/// Reads a zip's central directory. The file is hostile: opened without following a symlink or
/// blocking on a FIFO; the directory is read in one bounded piece and every count, size and offset
/// is checked against the file before it is believed; names must stay inside the archive root.
public enum ZipReader {
    /// Largest central directory read (about a million entries with short names).
    public static let maximumDirectoryBytes = 64 << 20
    private static let endSize = 22
    private static let centralSize = 46

    public static func entries(path: String) throws(ArchiveError) -> [ZipEntryInfo] {
        // A descriptor verify already opened beneath the release directory comes as /proc/self/fd/N, a link
        // that reopens the very inode it checked; any other path is opened without following a symlink.
        let follow = path.hasPrefix("/proc/self/fd/") ? 0 : O_NOFOLLOW
        let fd = open(path, O_RDONLY | follow | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .io(path: path, reason: "not a regular file")
        }
        let end = try findEnd(fd: fd, size: Int64(info.st_size), path: path)
        let directory = try read(fd: fd, offset: end.directoryOffset, count: end.directorySize, path: path)
        return try parseDirectory(directory, count: end.count, dataEnd: end.directoryOffset, path: path)
    }

    private struct End {
        var count: Int
        var directorySize: Int
        var directoryOffset: Int64
    }

    /// The end-of-central-directory record: the last signature whose comment reaches the file's end exactly.
    private static func findEnd(fd: CInt, size: Int64, path: String) throws(ArchiveError) -> End {
        guard size >= Int64(endSize) else { throw .corruptZip(archive: path, reason: "shorter than an empty zip") }
        let tailCount = Int(min(size, Int64(endSize + 0xFFFF)))
        let tail = try read(fd: fd, offset: size - Int64(tailCount), count: tailCount, path: path)
        var start = tail.count - endSize
        while start >= 0 {
            if tail.u32(start) == 0x0605_4b50 && start + endSize + Int(tail.u16(start + 20)) == tail.count { break }
            start -= 1
        }
        guard start >= 0 else { throw .corruptZip(archive: path, reason: "no end of central directory record") }
        let disk = tail.u16(start + 4)
        let directoryDisk = tail.u16(start + 6)
        let onDisk = Int(tail.u16(start + 8))
        let count = Int(tail.u16(start + 10))
        let directorySize = Int64(tail.u32(start + 12))
        let directoryOffset = Int64(tail.u32(start + 16))
        guard count != 0xFFFF, directorySize != 0xFFFF_FFFF, directoryOffset != 0xFFFF_FFFF else {
            throw .corruptZip(archive: path, reason: "zip64 archives are not read; allowed: zips under 4 GiB")
        }
        guard disk == 0, directoryDisk == 0, onDisk == count else {
            throw .corruptZip(archive: path, reason: "spans several disks")
        }
        let endOffset = size - Int64(tail.count - start)
        guard directoryOffset + directorySize <= endOffset else {
            throw .corruptZip(
                archive: path,
                reason: "central directory (\(directorySize) bytes at \(directoryOffset)) runs past its end record")
        }
        guard Int64(count) * Int64(centralSize) <= directorySize else {
            throw .corruptZip(
                archive: path, reason: "\(count) entries cannot fit in a \(directorySize)-byte central directory")
        }
        guard directorySize <= Int64(maximumDirectoryBytes) else {
            throw .corruptZip(
                archive: path,
                reason: "central directory of \(directorySize) bytes; allowed: up to \(maximumDirectoryBytes)")
        }
        return End(count: count, directorySize: Int(directorySize), directoryOffset: directoryOffset)
    }

    private static func parseDirectory(_ bytes: [UInt8], count: Int, dataEnd: Int64, path: String)
        throws(ArchiveError) -> [ZipEntryInfo]
    {
        var entries: [ZipEntryInfo] = []
        entries.reserveCapacity(count)
        var seen = Set<String>()
        var at = 0
        for index in 0..<count {
            guard at + centralSize <= bytes.count, bytes.u32(at) == 0x0201_4b50 else {
                throw .corruptZip(archive: path, reason: "central directory entry \(index) is cut short or misplaced")
            }
            let nameCount = Int(bytes.u16(at + 28))
            let next = at + centralSize + nameCount + Int(bytes.u16(at + 30)) + Int(bytes.u16(at + 32))
            guard next <= bytes.count else {
                throw .corruptZip(archive: path, reason: "central directory entry \(index) runs past the directory")
            }
            let entry = try entryInfo(bytes, at: at, nameCount: nameCount, dataEnd: dataEnd, path: path)
            guard seen.insert(entry.path).inserted else { throw .duplicateEntry(archive: path, entry: entry.path) }
            entries.append(entry)
            at = next
        }
        return entries
    }

    private static func entryInfo(_ bytes: [UInt8], at: Int, nameCount: Int, dataEnd: Int64, path: String)
        throws(ArchiveError) -> ZipEntryInfo
    {
        let rawName = bytes[(at + centralSize)..<(at + centralSize + nameCount)]
        guard let name = String(validating: rawName, as: UTF8.self), !name.isEmpty, !name.contains("\0") else {
            throw .corruptZip(archive: path, reason: "an entry name is empty or not UTF-8")
        }
        let shown = Escaping.shown(name)
        guard !name.contains("\\"), SafePath.staysInside(name), TarEntry.clean(name) != "" else {
            throw .unsafeEntry(archive: path, entry: shown, reason: "path leaves the archive root")
        }
        let method = bytes.u16(at + 10)
        let compressed = Int64(bytes.u32(at + 20))
        let size = Int64(bytes.u32(at + 24))
        let localOffset = Int64(bytes.u32(at + 42))
        guard method == 0 || method == 8 else {
            throw .corruptZip(archive: path, reason: "\(shown) uses method \(method); allowed: stored (0), deflate (8)")
        }
        guard method == 8 || compressed == size,
            localOffset + Int64(ZipFormat.localHeaderSize + nameCount) + compressed <= dataEnd
        else {
            throw .corruptZip(archive: path, reason: "\(shown): sizes or offset do not fit in the archive")
        }
        let unix = bytes.u16(at + 4) >> 8 == 3
        let external = bytes.u32(at + 38)
        let type = unix ? external >> 16 & UInt32(S_IFMT) : 0
        let isDirectory = name.hasSuffix("/") || type == UInt32(S_IFDIR)
        return ZipEntryInfo(
            path: TarEntry.clean(name), isDirectory: isDirectory, isSymlink: type == UInt32(S_IFLNK),
            mode: unix ? external >> 16 & 0o7777 : 0, size: size, crc32: bytes.u32(at + 16))
    }

    private static func read(fd: CInt, offset: Int64, count: Int, path: String) throws(ArchiveError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw .corruptZip(archive: path, reason: "cannot read \(count) bytes at \(offset)")
            }
            done += n
        }
        return bytes
    }
}

extension [UInt8] {
    fileprivate func u16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    fileprivate func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
}
