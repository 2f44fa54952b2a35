import Foundation
import KbuildPublish

/// A tar parser fed bytes as they arrive (from a file or from an entry of another archive being
/// inflated), so an image and each of its layers are checked in one pass with a few KB held: never a
/// whole layer or image in memory. It understands what `RawTar` does for names (ustar prefix, pax
/// `path`, GNU long names); anything else ends the stream (`isBroken`).
struct TarStream {
    /// One step of the stream, in order: an entry begins, its data arrives in pieces, it ends.
    enum Event {
        case begin(name: String, type: UInt8, size: Int64)
        case data(UnsafeRawBufferPointer)
        case end
    }

    /// The longest pax or GNU long-name record kept.
    static let maxNameData: Int64 = 1 << 20

    private var header: [UInt8] = []
    /// Data bytes of the current entry still to come, then padding to skip.
    private var remaining: Int64 = 0
    private var padding: Int64 = 0
    /// The current entry is a pax (`x`) or GNU (`L`) record about the next name, collected here.
    private var nameRecord: (type: UInt8, bytes: [UInt8])?
    private var longName: String?
    private var inEntry = false
    /// The end-of-archive block was read; later bytes are ignored.
    private(set) var isFinished = false
    /// The bytes are not a tar stream (bad checksum or size field).
    private(set) var isBroken = false

    /// Parses `bytes`, calling `handle` for each event.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        var rest = bytes
        while !rest.isEmpty, !isFinished, !isBroken {
            if remaining > 0 {
                let count = Int(min(Int64(rest.count), remaining))
                let piece = UnsafeRawBufferPointer(rebasing: rest[..<count])
                if nameRecord != nil {
                    nameRecord?.bytes += piece
                } else {
                    handle(.data(piece))
                }
                remaining -= Int64(count)
                rest = UnsafeRawBufferPointer(rebasing: rest[count...])
                if remaining == 0 { finishEntry(handle) }
            } else if padding > 0 {
                let count = Int(min(Int64(rest.count), padding))
                padding -= Int64(count)
                rest = UnsafeRawBufferPointer(rebasing: rest[count...])
            } else {
                let count = min(rest.count, 512 - header.count)
                header += rest[..<count]
                rest = UnsafeRawBufferPointer(rebasing: rest[count...])
                if header.count == 512 { beginEntry(handle) }
            }
        }
    }

    private mutating func beginEntry(_ handle: (Event) -> Void) {
        let block = header
        header.removeAll(keepingCapacity: true)
        if block.allSatisfy({ $0 == 0 }) {
            isFinished = true
            return
        }
        guard Self.checksumMatches(block), let size = TarIndex.octal(block[124..<136]) else {
            isBroken = true
            return
        }
        let type = block[156]
        remaining = size
        padding = (512 - size % 512) % 512
        if type == UInt8(ascii: "x") || type == UInt8(ascii: "L") {
            guard size <= Self.maxNameData else {
                isBroken = true
                return
            }
            nameRecord = (type, [])
        } else {
            var name = Self.string(block[0..<100])
            let prefix = Self.string(block[345..<500])
            if !prefix.isEmpty, block[257..<262].elementsEqual("ustar".utf8) { name = prefix + "/" + name }
            handle(.begin(name: longName ?? name, type: type == 0 ? UInt8(ascii: "0") : type, size: size))
            longName = nil
            inEntry = true
        }
        if size == 0 { finishEntry(handle) }
    }

    private mutating func finishEntry(_ handle: (Event) -> Void) {
        if let record = nameRecord {
            nameRecord = nil
            longName =
                record.type == UInt8(ascii: "L") ? Self.string(record.bytes[...]) : TarIndex.paxPath(record.bytes)
        } else if inEntry {
            inEntry = false
            handle(.end)
        }
    }

    static func checksumMatches(_ block: [UInt8]) -> Bool {
        guard let stored = TarIndex.octal(block[148..<156]) else { return false }
        var sum: Int64 = 0
        for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 32 : Int64(byte) }
        return sum == stored
    }

    static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }
}
