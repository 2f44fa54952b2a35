import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest

/// What `kbuild diff` keeps of one entry of a streamed tar: its header, its content's sha256, and the
/// content itself when it is small enough to explain (a nested archive, a binary, a manifest).
struct StreamedEntry {
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
    /// open as a tar. Memory: one entry per side, plus the unpaired names, bounded by `unpairedLimit`.
    mutating func streamedTar(_ fileA: String, _ fileB: String, path: String, depth: Int) async -> Bool {
        guard let readerA = try? TarReader(path: fileA), let readerB = try? TarReader(path: fileB) else {
            return false
        }
        var waitingA: [String: StreamedEntry] = [:]
        var waitingB: [String: StreamedEntry] = [:]
        var unpaired = 0
        var doneA = false
        var doneB = false
        while !(doneA && doneB) && !full {
            let entryA = doneA ? nil : Self.nextEntry(readerA)
            let entryB = doneB ? nil : Self.nextEntry(readerB)
            doneA = doneA || entryA == nil
            doneB = doneB || entryB == nil
            if let a = entryA, let b = entryB, a.header.path == b.header.path {
                await compare(a, b, path: path + "!" + a.header.path, depth: depth)
                continue
            }
            if let a = entryA {
                await pair(a, fromA: true, waiting: &waitingA, partners: &waitingB, unpaired: &unpaired, path, depth)
            }
            if let b = entryB {
                await pair(b, fromA: false, waiting: &waitingB, partners: &waitingA, unpaired: &unpaired, path, depth)
            }
        }
        for name in waitingA.keys.sorted() { add(Difference(.removed, "\(path)!\(name)", "entry")) }
        for name in waitingB.keys.sorted() { add(Difference(.added, "\(path)!\(name)", "entry")) }
        if unpaired >= Self.unpairedLimit {
            add(
                Difference(
                    .changed, path, "entries",
                    a: "over \(Self.unpairedLimit) entries without a partner: the rest were not paired", b: nil))
        }
        return true
    }

    /// Compares `entry` with its partner if the other side already read it, else leaves it waiting
    /// (its header and digest only) while fewer than `unpairedLimit` wait.
    private mutating func pair(
        _ entry: StreamedEntry, fromA: Bool, waiting: inout [String: StreamedEntry],
        partners: inout [String: StreamedEntry], unpaired: inout Int, _ path: String, _ depth: Int
    ) async {
        let name = entry.header.path
        if let partner = partners.removeValue(forKey: name) {
            let (a, b) = fromA ? (entry, partner) : (partner, entry)
            await compare(a, b, path: path + "!" + name, depth: depth)
        } else if unpaired < Self.unpairedLimit {
            waiting[name] = StreamedEntry(header: entry.header, sha256: entry.sha256, bytes: nil)
            unpaired += 1
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
