import CArchive
import Foundation
import KbuildCore
import KbuildDigest

/// Whole-stream decompression (gzip, zstd, xz, bzip2 — whatever libarchive detects) of one file,
/// for compressed image layers: they must be stored uncompressed in a docker-archive.
public enum Decompressor {
    /// The compression a file starts with, from its magic bytes (nil: not compressed).
    public static func compression(of path: String) throws(ArchiveError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 6)
        let n = read(fd, &magic, magic.count)
        guard n >= 0 else { throw .io(path: path, reason: "cannot read: \(String(cString: strerror(errno)))") }
        let head = Array(magic.prefix(n))
        if head.starts(with: [0x1f, 0x8b]) { return "gzip" }
        if head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return "zstd" }
        if head.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return "xz" }
        if head.starts(with: [0x42, 0x5a, 0x68]) { return "bzip2" }
        return nil
    }

    /// Writes the decompressed bytes of `source` to `destination` (streamed) and returns their size and sha256.
    public static func decompress(
        _ source: String, to destination: String
    ) throws(ArchiveError) -> (size: Int64, sha256: Digest) {
        guard let archive = archive_read_new() else {
            throw .library(operation: "archive_read_new", path: source, message: "out of memory")
        }
        defer { archive_read_free(archive) }
        try archive_read_support_filter_all(archive).check(archive, "enable decompression", source)
        try archive_read_support_format_raw(archive).check(archive, "enable raw", source)
        try archive_read_open_filename(archive, source, 1 << 16).check(archive, "open", source)
        var entry: OpaquePointer?
        guard archive_read_next_header(archive, &entry) == ARCHIVE_OK else {
            throw .corrupt(archive: source, reason: archive.errorMessage)
        }
        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .io(path: destination, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var hasher = Digest.Hasher(.sha256)
        var total: Int64 = 0
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = archive_read_data(archive, buffer, size)
            if n == 0 { break }
            guard n > 0 else { throw .corrupt(archive: source, reason: archive.errorMessage) }
            let chunk = UnsafeRawBufferPointer(start: buffer, count: n)
            if let error = FileDescriptorIO.writeAll(fd, chunk) {
                throw .io(path: destination, reason: "cannot write: \(String(cString: strerror(error)))")
            }
            hasher.update(chunk)
            total += Int64(n)
        }
        return (total, hasher.finalize())
    }
}
