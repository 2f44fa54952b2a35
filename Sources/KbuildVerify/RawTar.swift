import Foundation

/// A tar header exactly as stored (ustar fields, pax records, GNU long names), for `kbuild diff`:
/// libarchive's reader normalises away the very fields a difference can hide in.
struct RawTarEntry: Sendable, Hashable {
    var name: String
    /// The typeflag: `0` file, `5` directory, `2` symlink, `1` hardlink, …
    var type: Character
    var mode: UInt64
    var uid: UInt64
    var gid: UInt64
    var size: UInt64
    var mtime: String
    var linkTarget: String
    var uname: String
    var gname: String
    /// The entry's own pax records (`x` header), sorted by key when compared.
    var pax: [String: String]
    /// Where the entry's data lies, as indices of the parsed `Data` (slices keep their own indices).
    var data: Range<Int>
}

/// Parses a whole (uncompressed) tar stream held in memory.
enum RawTar {
    /// The entries in stream order, or nil when the bytes are not a tar archive.
    static func entries(_ bytes: Data) -> [RawTarEntry]? { parse(bytes)?.entries }

    /// The entries and the global pax records (`g` headers) of the stream, or nil when it is not a tar archive.
    static func parse(_ bytes: Data) -> (entries: [RawTarEntry], global: [String: String])? {
        var entries: [RawTarEntry] = []
        var offset = 0
        var pax: [String: String] = [:]
        var global: [String: String] = [:]
        var longName: String?
        var longLink: String?
        while offset + 512 <= bytes.count {
            let block = bytes[(bytes.startIndex + offset)..<(bytes.startIndex + offset + 512)]
            if block.allSatisfy({ $0 == 0 }) { return (entries, global) }
            guard checksumMatches(block) else { return entries.isEmpty ? nil : (entries, global) }
            func field(_ start: Int, _ length: Int) -> Data {
                let slice = block.dropFirst(start).prefix(length)
                return slice.prefix { $0 != 0 }
            }
            func text(_ start: Int, _ length: Int) -> String { String(decoding: field(start, length), as: UTF8.self) }
            let type = Character(
                UnicodeScalar(block[block.startIndex + 156] == 0 ? 0x30 : block[block.startIndex + 156]))
            let size = number(block.dropFirst(124).prefix(12))
            let start = offset + 512
            let end = start + Int(clamping: size)
            guard end <= bytes.count else { return nil }
            let data = bytes[(bytes.startIndex + start)..<(bytes.startIndex + end)]
            offset = start + (Int(clamping: size) + 511) / 512 * 512
            switch type {
            case "x": pax = records(data)
            case "g": global.merge(records(data)) { $1 }
            case "L": longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            case "K": longLink = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            default:
                var name = text(0, 100)
                let prefix = text(345, 155)
                if !prefix.isEmpty, block.dropFirst(257).prefix(5).elementsEqual(Array("ustar".utf8)) {
                    name = prefix + "/" + name
                }
                let merged = global.merging(pax) { $1 }
                var entry = RawTarEntry(
                    name: merged["path"] ?? longName ?? name, type: type, mode: number(block.dropFirst(100).prefix(8)),
                    uid: number(block.dropFirst(108).prefix(8)), gid: number(block.dropFirst(116).prefix(8)),
                    size: size, mtime: String(number(block.dropFirst(136).prefix(12))),
                    linkTarget: merged["linkpath"] ?? longLink ?? text(157, 100), uname: text(265, 32),
                    gname: text(297, 32), pax: pax, data: (bytes.startIndex + start)..<(bytes.startIndex + end))
                if let value = merged["uname"] { entry.uname = value }
                if let value = merged["gname"] { entry.gname = value }
                if let value = merged["uid"].flatMap(UInt64.init) { entry.uid = value }
                if let value = merged["gid"].flatMap(UInt64.init) { entry.gid = value }
                if let value = merged["mtime"] { entry.mtime = value }
                entries.append(entry)
                pax = [:]
                longName = nil
                longLink = nil
            }
        }
        return (entries, global)
    }

    /// An octal field, or GNU base-256 when the high bit of its first byte is set.
    static func number(_ field: Data) -> UInt64 {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            return field.dropFirst().reduce(UInt64(first & 0x7f)) { ($0 << 8) | UInt64($1) }
        }
        var value: UInt64 = 0
        for byte in field {
            guard (0x30...0x37).contains(byte) else {
                if byte == 0 || byte == 0x20 { if value > 0 { break } else { continue } }
                break
            }
            value = value << 3 | UInt64(byte - 0x30)
        }
        return value
    }

    /// pax records: `<length> <key>=<value>\n`, repeated.
    static func records(_ data: Data) -> [String: String] {
        var result: [String: String] = [:]
        let bytes = Array(data)
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: 0x20),
                let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > 0,
                index + length <= bytes.count
            else { break }
            let record = bytes[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: 0x3d) {
                result[String(decoding: record[..<equals], as: UTF8.self)] =
                    String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return result
    }

    private static func checksumMatches(_ block: Data) -> Bool {
        let stored = number(block.dropFirst(148).prefix(8))
        var sum: UInt64 = 0
        for (index, byte) in block.enumerated() {
            sum += (148..<156).contains(index) ? 0x20 : UInt64(byte)
        }
        return stored == sum
    }
}

/// The header of a gzip member (RFC 1952) and the trailer of the last one.
struct GzipHeader: Sendable, Hashable {
    var flags: UInt8
    var mtime: UInt32
    var extraFlags: UInt8
    var os: UInt8
    var name: String?
    var comment: String?
    /// CRC-32 and size (mod 2^32) of the last member's data, from the last 8 bytes.
    var trailerCRC: UInt32
    var trailerSize: UInt32

    init?(_ bytes: Data) {
        let b = Array(bytes.prefix(1024))
        guard b.count >= 18, b[0] == 0x1f, b[1] == 0x8b else { return nil }
        flags = b[3]
        mtime = UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
        extraFlags = b[8]
        os = b[9]
        var index = 10
        if flags & 4 != 0, index + 2 <= b.count { index += 2 + Int(b[index]) | Int(b[index + 1]) << 8 }
        func zeroTerminated() -> String? {
            guard index < b.count, let end = b[index...].firstIndex(of: 0) else { return nil }
            defer { index = end + 1 }
            return String(decoding: b[index..<end], as: UTF8.self)
        }
        name = flags & 8 != 0 ? zeroTerminated() : nil
        comment = flags & 16 != 0 ? zeroTerminated() : nil
        let tail = Array(bytes.suffix(8))
        trailerCRC = UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24
        trailerSize = UInt32(tail[4]) | UInt32(tail[5]) << 8 | UInt32(tail[6]) << 16 | UInt32(tail[7]) << 24
    }

    /// Field name → value, for comparing two headers field by field.
    var fields: [(String, String)] {
        [
            ("gzip header name", name ?? "(none)"), ("gzip header mtime", String(mtime)),
            ("gzip header OS", String(os)), ("gzip header flags", String(flags)),
            ("gzip header extra flags", String(extraFlags)), ("gzip header comment", comment ?? "(none)"),
        ]
    }
}
