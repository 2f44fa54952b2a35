import CArchive
import Foundation
import KbuildCore
import KbuildDigest

/// One header read from a tar archive.
public struct TarHeader: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file, directory, symlink, hardlink, other
    }

    public var path: String
    public var kind: Kind
    public var size: Int64
    public var mode: UInt32
    public var mtime: Int64
    public var uid: Int64
    public var gid: Int64
    /// Target of a symlink or hardlink.
    public var linkTarget: String?
}

/// Streams a tar or tar.gz (detected from its bytes) with libarchive, entry by entry. Gzip in members
/// of at most 1 MiB (what kbuild writes) is inflated member by member with libdeflate (`GzipMembers`);
/// any other gzip is streamed with zlib.
public final class TarReader {
    private let archive: OpaquePointer
    /// The archive's path, for messages.
    public let path: String
    /// The inflated members libarchive reads, for kbuild-shaped gzip; nil when libarchive reads the file.
    private let members: GzipMembers?

    public init(path: String) throws(ArchiveError) {
        self.path = path
        guard let archive = archive_read_new() else {
            throw .library(operation: "archive_read_new", path: path, message: "out of memory")
        }
        self.archive = archive
        // A file that cannot be opened is reported by libarchive's open below, as for any tar.
        let members = (try? GzipMembers.open(path)) ?? nil
        self.members = members
        do {
            try archive_read_support_filter_gzip(archive).check(archive, "enable gzip", path)
            try archive_read_support_filter_none(archive).check(archive, "enable raw", path)
            try archive_read_support_format_tar(archive).check(archive, "enable tar", path)
            if let members {
                let client = Unmanaged.passUnretained(members).toOpaque()
                try archive_read_open(
                    archive, client, nil, { _, client, buffer in GzipMembers.readCallback(client, buffer) }, nil
                ).check(archive, "open", path)
            } else {
                try archive_read_open_filename(archive, path, 1 << 16).check(archive, "open", path)
            }
        } catch {
            // Every stored property is set, so deinit runs and frees the archive: freeing it here too crashed.
            if case .library(_, _, let message) = error, !FileManager.default.fileExists(atPath: path) {
                throw .io(path: path, reason: "no such file (\(message))")
            }
            throw error
        }
    }

    deinit {
        archive_read_free(archive)
    }

    /// The next header, or nil at the end of the archive.
    public func next() throws(ArchiveError) -> TarHeader? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status >= ARCHIVE_WARN, let entry else {
            throw members?.failure ?? .corrupt(archive: path, reason: archive.errorMessage)
        }
        let name =
            archive_entry_pathname_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let kind: TarHeader.Kind
        var target: String?
        if let hardlink = archive_entry_hardlink(entry) {
            kind = .hardlink
            target = String(cString: hardlink)
        } else {
            switch archive_entry_filetype(entry) {
            case 0o100000: kind = .file
            case 0o040000: kind = .directory
            case 0o120000:
                kind = .symlink
                target = archive_entry_symlink(entry).map { String(cString: $0) }
            default: kind = .other
            }
        }
        return TarHeader(
            path: name, kind: kind, size: archive_entry_size(entry),
            mode: UInt32(archive_entry_perm(entry)), mtime: Int64(archive_entry_mtime(entry)),
            uid: archive_entry_uid(entry), gid: archive_entry_gid(entry), linkTarget: target)
    }

    /// Reads the current entry's data in chunks.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = archive_read_data(archive, buffer, size)
            if n == 0 { return }
            guard n > 0 else {
                throw members?.failure ?? ArchiveError.corrupt(archive: path, reason: archive.errorMessage)
            }
            try body(UnsafeRawBufferPointer(start: buffer, count: n))
        }
    }

    /// The current entry's data, in memory (for small files such as manifests).
    public func readAll(limit: Int = 64 << 20) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try readData { chunk in
            guard bytes.count + chunk.count <= limit else {
                throw ArchiveError.corrupt(archive: path, reason: "entry larger than \(limit) bytes")
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// Copies the current entry's data to `destination` and returns its sha256.
    public func extract(to destination: String) throws -> Digest {
        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ArchiveError.io(path: destination, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var hasher = Digest.Hasher(.sha256)
        try readData { chunk in
            if let error = FileDescriptorIO.writeAll(fd, chunk) {
                throw ArchiveError.io(path: destination, reason: "cannot write: \(String(cString: strerror(error)))")
            }
            hasher.update(chunk)
        }
        return hasher.finalize()
    }

    /// Every header of the archive at `path`, skipping data.
    public static func headers(of path: String) throws(ArchiveError) -> [TarHeader] {
        let reader = try TarReader(path: path)
        var headers: [TarHeader] = []
        while let header = try reader.next() { headers.append(header) }
        return headers
    }
}
