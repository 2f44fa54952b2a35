import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest

/// What `kbuild diff` keeps of one entry of a streamed tar: its header, its content's sha256, and the
/// content itself when it is small enough to explain (a nested archive, a binary, a manifest).
struct StreamedEntry {
    /// 1 for the first entry of its archive.
    var index = 0
    var header: TarHeader
    var sha256: String
    var bytes: Data?
}

extension DiffWalker {
    /// Most bytes of one entry of a streamed tar held to explain how it differs.
    static let heldEntryBytes: Int64 = 16 << 20
    /// Most entries waiting for their partner (present on one side so far) before pairing stops.
    static let unpairedLimit = 50_000

    /// Two files on disk: held and compared in memory when small, else never mapped — digested, and
    /// for tar or gzip streams compared as they are read.
    mutating func files(_ fileA: String, _ fileB: String, path: String) async throws(VerifyError) {
        let sizeA = Self.size(of: fileA)
        let sizeB = Self.size(of: fileB)
        if sizeA <= Self.heldBytes && sizeB <= Self.heldBytes {
            await content(try ReleaseDiffer.read(fileA), try ReleaseDiffer.read(fileB), path: path, depth: 0)
            return
        }
        let digestA = try? Digest.file(fileA, .sha256).hex
        let digestB = try? Digest.file(fileB, .sha256).hex
        guard digestA != digestB || sizeA != sizeB else { return }
        let headA = Self.headAndTail(fileA)
        let headB = Self.headAndTail(fileB)
        let kindA = Self.kind(headA)
        let kindB = Self.kind(headB)
        guard kindA == kindB else {
            add(Difference(.changed, path, "file type", a: kindA.rawValue, b: kindB.rawValue))
            return
        }
        if kindA == .gzip {
            await gzipFiles(
                fileA, fileB, GzipHeader(headA), GzipHeader(headB), sizes: (sizeA, sizeB), path: path, depth: 0)
            return
        }
        let streamed = kindA == .tar ? await streamedTar(fileA, fileB, path: path, depth: 0) : false
        if !streamed {
            add(
                Difference(
                    .changed, path, "content sha256", a: "\(digestA ?? "unreadable"), \(sizeA) bytes",
                    b: "\(digestB ?? "unreadable"), \(sizeB) bytes"))
        }
    }

    /// Two tar streams (plain or gzip) read side by side: entries paired by name as they come, header
    /// fields and content digests compared, small differing contents explained. False when one does not
    /// open as a tar. Memory: one entry per side, plus what `Unpaired` keeps (bounded).
    mutating func streamedTar(_ fileA: String, _ fileB: String, path: String, depth: Int) async -> Bool {
        guard let readerA = try? TarReader(path: fileA), let readerB = try? TarReader(path: fileB) else {
            return false
        }
        var unpaired = Unpaired()
        var read = (0, 0)
        var done = (false, false)
        var reordered: (StreamedEntry, StreamedEntry)?
        while !(done.0 && done.1) && !full {
            var entryA = done.0 ? nil : Self.nextEntry(readerA)
            var entryB = done.1 ? nil : Self.nextEntry(readerB)
            if entryA != nil { read.0 += 1 }
            if entryB != nil { read.1 += 1 }
            entryA?.index = read.0
            entryB?.index = read.1
            done = (done.0 || entryA == nil, done.1 || entryB == nil)
            if let a = entryA, let b = entryB, a.header.path == b.header.path {
                await compare(a, b, path: path + "!" + a.header.path, depth: depth)
                continue
            }
            for (entry, fromA) in [(entryA, true), (entryB, false)] {
                guard let entry else { continue }
                if let (a, b) = unpaired.pair(entry, fromA: fromA) {
                    await compare(a, b, path: path + "!" + a.header.path, depth: depth)
                    reordered = reordered ?? (a, b)
                }
            }
        }
        if let (a, b) = reordered, unpaired.a.isEmpty && unpaired.b.isEmpty {
            // Same names, another order (with names missing on one side, those explain the shift).
            add(
                Difference(
                    .changed, path, "entry order", a: "#\(a.index) \(a.header.path)", b: "#\(b.index) \(b.header.path)")
            )
        }
        for name in unpaired.a.keys.sorted() { add(Difference(.removed, "\(path)!\(name)", "entry")) }
        for name in unpaired.b.keys.sorted() { add(Difference(.added, "\(path)!\(name)", "entry")) }
        if unpaired.overflowed {
            add(
                Difference(
                    .changed, path, "entries",
                    a: "over \(Self.unpairedLimit) entries without a partner: the rest were not paired", b: nil))
        }
        return true
    }

    /// Entries read on one side whose partner has not come yet: at most `unpairedLimit` of them, their
    /// contents kept while they fit `heldEntryBytes` in all (so a reordered small file is still explained).
    struct Unpaired {
        var a: [String: StreamedEntry] = [:]
        var b: [String: StreamedEntry] = [:]
        var heldBytes = 0
        var overflowed = false

        /// The pair (A first) when `entry`'s partner was waiting; else `entry` waits, if there is room.
        mutating func pair(_ entry: StreamedEntry, fromA: Bool) -> (StreamedEntry, StreamedEntry)? {
            let name = entry.header.path
            if let partner = fromA ? b.removeValue(forKey: name) : a.removeValue(forKey: name) {
                heldBytes -= partner.bytes?.count ?? 0
                return fromA ? (entry, partner) : (partner, entry)
            }
            guard a.count + b.count < DiffWalker.unpairedLimit else {
                overflowed = true
                return nil
            }
            var kept = entry
            if let bytes = entry.bytes, heldBytes + bytes.count <= Int(DiffWalker.heldEntryBytes) {
                heldBytes += bytes.count
            } else {
                kept.bytes = nil
            }
            if fromA { a[name] = kept } else { b[name] = kept }
            return nil
        }
    }

    /// One entry of a streamed pair: header fields, then content (explained when both are held).
    private mutating func compare(_ a: StreamedEntry, _ b: StreamedEntry, path: String, depth: Int) async {
        let fields: [(String, String, String)] = [
            ("type", "\(a.header.kind)", "\(b.header.kind)"),
            ("mode", String(a.header.mode, radix: 8), String(b.header.mode, radix: 8)),
            ("uid", String(a.header.uid), String(b.header.uid)), ("gid", String(a.header.gid), String(b.header.gid)),
            ("mtime", String(a.header.mtime), String(b.header.mtime)),
            ("size", String(a.header.size), String(b.header.size)),
            ("link target", a.header.linkTarget ?? "", b.header.linkTarget ?? ""),
        ]
        for (field, valueA, valueB) in fields where valueA != valueB {
            add(Difference(.changed, path, field, a: valueA, b: valueB))
        }
        guard a.sha256 != b.sha256 else { return }
        if let bytesA = a.bytes, let bytesB = b.bytes, depth < 4 {
            let before = found.count
            await content(bytesA, bytesB, path: path, depth: depth + 1)
            if found.count > before { return }
        }
        add(Difference(.changed, path, "content sha256", a: a.sha256, b: b.sha256))
    }

    /// The next entry and its content's digest (its bytes when small); nil at the end or on damage.
    private static func nextEntry(_ reader: TarReader) -> StreamedEntry? {
        guard let header = try? reader.next() else { return nil }
        var hasher = Digest.Hasher(.sha256)
        var bytes: Data? = header.size <= heldEntryBytes ? Data() : nil
        do {
            try reader.readData { chunk in
                hasher.update(chunk)
                bytes?.append(contentsOf: chunk)
            }
        } catch {
            return nil
        }
        return StreamedEntry(header: header, sha256: hasher.finalize().hex, bytes: bytes)
    }

    static func size(of file: String) -> Int64 {
        var info = stat()
        return stat(file, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// The first 64 KiB and the last 8 bytes (a gzip trailer) of a file, without reading the rest.
    static func headAndTail(_ file: String) -> Data {
        guard let handle = FileHandle(forReadingAtPath: file) else { return Data() }
        defer { try? handle.close() }
        var data = (try? handle.read(upToCount: 1 << 16)) ?? Data()
        let size = size(of: file)
        if size > Int64(data.count) + 8, (try? handle.seek(toOffset: UInt64(size - 8))) != nil {
            data += (try? handle.read(upToCount: 8)) ?? Data()
        }
        return data
    }
}
