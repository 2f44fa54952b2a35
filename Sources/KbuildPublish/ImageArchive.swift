import Foundation
import KbuildDigest

/// One blob of an image tarball: where its bytes lie in the (uncompressed) tar, so it is sent
/// straight from the release file, never copied or held whole in memory.
public struct ArchiveBlob: Sendable, Hashable {
    /// `sha256:<hex>`.
    public let digest: String
    public let size: Int64
    /// The tarball it lies in and the offset of its first byte.
    public let file: String
    public let offset: Int64
}

/// An image tarball of the release (docker-archive with the OCI layout beside, as kbuild writes it)
/// read as what a registry stores: one manifest, its config and layers. Only the manifest and the
/// index are read into memory (bounded); the layers stay on disk.
public struct ImageArchive: Sendable, Hashable {
    /// The manifest's exact bytes: pushed as they are, so its digest is the one in the tarball.
    public let manifest: Data
    public let manifestDigest: String
    public let manifestMediaType: String
    public let platform: OCIPlatform
    /// The config first, then the layers in order.
    public let blobs: [ArchiveBlob]
    /// The names `docker load` restores (`manifest.json` RepoTags): `<registry>/<bin>-<arch>:<tag>`.
    public let repoTags: [String]

    /// Largest index or manifest document read (they are a few hundred bytes).
    static let documentLimit: Int64 = 4 << 20

    /// Reads the image tarball at `path`.
    public init(path: String) throws(PublishError) {
        let entries = try TarIndex(path: path).entries
        func document(_ name: String) throws(PublishError) -> Data {
            guard let entry = entries[name] else { throw .badImage(path: path, reason: "no \(name) in it") }
            guard entry.size <= Self.documentLimit else {
                throw .badImage(path: path, reason: "\(name) is over \(Self.documentLimit >> 20) MiB")
            }
            return try TarIndex.read(path, offset: entry.offset, count: Int(entry.size))
        }
        let index: OCIIndex
        do {
            index = try JSONDecoder().decode(OCIIndex.self, from: try document("index.json"))
        } catch let error as PublishError {
            throw error
        } catch {
            throw .badImage(path: path, reason: "index.json is not an OCI image index")
        }
        let digests = Set(index.manifests.map(\.digest))
        guard digests.count == 1, let descriptor = index.manifests.first, let platform = descriptor.platform else {
            throw .badImage(
                path: path, reason: "index.json names \(digests.count) manifests; kbuild writes one, with a platform")
        }
        let hex = try Self.hex(of: descriptor.digest, in: path)
        let bytes = try document("blobs/sha256/" + hex)
        guard Digest.of(bytes, .sha256).hex == hex else {
            throw .badImage(path: path, reason: "manifest blob \(hex.prefix(16))… does not match its digest")
        }
        let parsed: OCIManifest
        do {
            parsed = try JSONDecoder().decode(OCIManifest.self, from: bytes)
        } catch {
            throw .badImage(path: path, reason: "manifest \(hex.prefix(16))… is not an image manifest")
        }
        var blobs: [ArchiveBlob] = []
        for blob in [parsed.config] + parsed.layers {
            let name = "blobs/sha256/" + (try Self.hex(of: blob.digest, in: path))
            guard let entry = entries[name], entry.size == blob.size else {
                throw .badImage(path: path, reason: "blob \(blob.digest) is missing or not \(blob.size) bytes")
            }
            blobs.append(ArchiveBlob(digest: blob.digest, size: blob.size, file: path, offset: entry.offset))
        }
        struct DockerEntry: Decodable {
            var repoTags: [String]?
            enum CodingKeys: String, CodingKey { case repoTags = "RepoTags" }
        }
        let entries2 = (try? JSONDecoder().decode([DockerEntry].self, from: try document("manifest.json"))) ?? []
        repoTags = entries2.first?.repoTags ?? []
        manifest = bytes
        manifestDigest = "sha256:" + hex
        manifestMediaType = parsed.mediaType ?? descriptor.mediaType
        self.platform = platform
        self.blobs = blobs
    }

    private static func hex(of digest: String, in path: String) throws(PublishError) -> String {
        let hex = digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : ""
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw .badImage(path: path, reason: "digest \(digest.prefix(80)) is not sha256:<64 hex>")
        }
        return hex
    }
}

/// The regular files of an uncompressed tar and where their data lies, read header by header
/// (ustar, pax `path`, GNU long names). The file is opened without following a symlink and without
/// blocking on a FIFO; the entry count and header sizes are bounded.
package struct TarIndex {
    struct Entry: Hashable {
        var offset: Int64
        var size: Int64
    }
    let entries: [String: Entry]

    static let maxEntries = 100_000
    static let maxHeaderData: Int64 = 1 << 20

    init(path: String) throws(PublishError) {
        let fd = try Self.open(path)
        defer { close(fd) }
        var entries: [String: Entry] = [:]
        var offset: Int64 = 0
        var longName: String?
        var count = 0
        while true {
            let block = try Self.read(fd, path, offset: offset, count: 512)
            if block.count < 512 || block.allSatisfy({ $0 == 0 }) { break }
            count += 1
            guard count <= Self.maxEntries else {
                throw .badImage(path: path, reason: "over \(Self.maxEntries) entries")
            }
            guard let size = Self.octal(block[124..<136]) else {
                throw .badImage(path: path, reason: "a tar header at byte \(offset) has no valid size")
            }
            let data = offset + 512
            let type = block[156]
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "L"):
                guard size <= Self.maxHeaderData else { throw .badImage(path: path, reason: "a tar header over 1 MiB") }
                let text = try Self.read(fd, path, offset: data, count: Int(size))
                longName = type == UInt8(ascii: "L") ? Self.string(text) : Self.paxPath(text) ?? longName
            case UInt8(ascii: "0"), 0:
                var name = Self.string(block[0..<100])
                let prefix = Self.string(block[345..<500])
                if !prefix.isEmpty, block[257..<262].elementsEqual("ustar".utf8) { name = prefix + "/" + name }
                entries[longName ?? name] = Entry(offset: data, size: size)
                longName = nil
            default:
                longName = nil
            }
            offset = data + (size + 511) / 512 * 512
        }
        self.entries = entries
    }

    /// `count` bytes of `path` from `offset`.
    static func read(_ path: String, offset: Int64, count: Int) throws(PublishError) -> Data {
        let fd = try open(path)
        defer { close(fd) }
        let data = try read(fd, path, offset: offset, count: count)
        guard data.count == count else { throw .badImage(path: path, reason: "ends inside an entry") }
        return data
    }

    static func open(_ path: String) throws(PublishError) -> Int32 {
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .badImage(path: path, reason: "not a regular file")
        }
        return fd
    }

    static func read(_ fd: Int32, _ path: String, offset: Int64, count: Int) throws(PublishError) -> Data {
        var data = Data(count: count)
        var done = 0
        while done < count {
            let got = data.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            done += got
        }
        return data.prefix(done)
    }

    /// A numeric header field: octal digits, leading spaces and a NUL or space after them allowed.
    package static func octal(_ field: some Collection<UInt8>) -> Int64? {
        let digits = field.drop { $0 == 0x20 }.prefix { $0 != 0 && $0 != 0x20 }
        guard !digits.isEmpty, digits.count <= 11 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard (0x30...0x37).contains(byte) else { return nil }
            value = value * 8 + Int64(byte - 0x30)
        }
        return value
    }

    static func string(_ field: Data) -> String { String(decoding: field.prefix { $0 != 0 }, as: UTF8.self) }

    /// The `path` record of a pax header (`<length> path=<value>\n`).
    package static func paxPath(_ data: some Collection<UInt8>) -> String? {
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let record = line[line.index(after: space)...]
            if record.hasPrefix("path=") { return String(record.dropFirst(5)) }
        }
        return nil
    }
}
