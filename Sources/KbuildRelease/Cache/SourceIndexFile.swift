import Foundation
import KbuildCore

// The index file: a header line `kbuild-source-index-v1 <indexedAt ns>`, then one line per regular file in
// walk order: `path NUL size mtime ctime inode device mode sha256-hex LF`.
extension SourceIndex {
    /// What the last run recorded, read without a string per record: names and digests stay byte ranges
    /// of the file, looked up in walk order (the order they were written in).
    struct Index {
        struct Record {
            var name: Range<Int>
            var signature: FileSignature
            var digest: Range<Int>
        }

        var indexedAt: Int64 = 0
        var bytes: [UInt8] = []
        var records: [Record] = []
        /// The record after the last one found: the next file of an unchanged tree.
        private var cursor = 0
        /// Every record by name, built the first time the walk order does not answer (files added or removed).
        private var byName: [String: Int]?

        init() {}

        /// The index at `path`; empty when it is missing or not an index (then every file is hashed).
        init(contentsOf path: String) {
            guard let data = FileManager.default.contents(atPath: path) else {
                self.init()
                return
            }
            self.init(parsing: [UInt8](data))
        }

        /// A hand-written scanner: this runs on every release over tens of thousands of records.
        init(parsing bytes: [UInt8]) {
            let count = bytes.count
            var position = 0
            func number() -> UInt64? {
                var value: UInt64 = 0
                var digits = 0
                while position < count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                    value = value &* 10 &+ UInt64(bytes[position] - 0x30)
                    position += 1
                    digits += 1
                }
                guard digits > 0, digits <= 20, position < count, bytes[position] == 0x20 || bytes[position] == 0x0A
                else { return nil }
                position += 1
                return value
            }
            let prefix = Array((header + " ").utf8)
            guard count > prefix.count, bytes[0..<prefix.count].elementsEqual(prefix) else { return }
            position = prefix.count
            guard let indexedAt = number(), bytes[position - 1] == 0x0A else { return }
            var records: [Record] = []
            records.reserveCapacity(count / 100)
            while position < count {
                let nameStart = position
                while position < count && bytes[position] != 0 && bytes[position] != 0x0A { position += 1 }
                let nameEnd = position
                position += 1
                if nameEnd < count, bytes[nameEnd] == 0, let size = number(), let mtime = number(),
                    let ctime = number(), let inode = number(), let device = number(), let mode = number(),
                    bytes[position - 1] == 0x20, position + 64 < count, bytes[position + 64] == 0x0A
                {
                    let signature = FileSignature(
                        size: Int64(bitPattern: size), mtime: Int64(bitPattern: mtime),
                        ctime: Int64(bitPattern: ctime), inode: inode, device: device,
                        mode: UInt32(truncatingIfNeeded: mode))
                    records.append(
                        Record(name: nameStart..<nameEnd, signature: signature, digest: position..<position + 64))
                    position += 65
                } else {
                    // Not a record: skip to the next line.
                    while position < count && bytes[position - 1] != 0x0A { position += 1 }
                }
            }
            self.indexedAt = Int64(bitPattern: indexedAt)
            self.bytes = bytes
            self.records = records
        }

        /// The record of `name`: the one after the last found when the tree is as it was, else by name.
        mutating func find(_ name: String) -> Record? {
            if cursor < records.count, named(records[cursor], name) {
                cursor += 1
                return records[cursor - 1]
            }
            let lookup = byName ?? names()
            byName = lookup
            guard let position = lookup[name] else { return nil }
            cursor = position + 1
            return records[position]
        }

        private func named(_ record: Record, _ name: String) -> Bool {
            var name = name
            return name.withUTF8 { utf8 in
                utf8.count == record.name.count
                    && bytes.withUnsafeBufferPointer { all in
                        guard let base = all.baseAddress, let other = utf8.baseAddress else { return utf8.isEmpty }
                        return memcmp(base + record.name.lowerBound, other, utf8.count) == 0
                    }
            }
        }

        private func names() -> [String: Int] {
            var names: [String: Int] = [:]
            names.reserveCapacity(records.count)
            for (position, record) in records.enumerated() {
                names[String(decoding: bytes[record.name], as: UTF8.self)] = position
            }
            return names
        }
    }
}
