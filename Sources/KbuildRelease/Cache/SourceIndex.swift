import Foundation
import KbuildCore
import KbuildDigest

/// The workspace digest of `WorkspaceDigest`, with a stat-based shortcut: a per-workspace index
/// (`_output/cache/source-index`) remembers each file's content digest with its stat signature (size,
/// mtime and ctime in nanoseconds, inode, device, mode). A file is hashed again whenever its signature
/// changed; unchanged files are not read. The result is byte for byte what `WorkspaceDigest.compute` says.
///
/// Racy files (git's "racy clean" problem): a file written in the same clock tick as it was indexed may be
/// rewritten with an identical signature (kernel timestamps are coarse). An entry is therefore trusted only
/// when its mtime and ctime are older than the start of the run that recorded it minus `racyMargin`;
/// younger entries are hashed again on the next run, as git does for entries not older than its index.
enum SourceIndex {
    /// File times within this much of the indexing run are not trusted (covers coarse kernel clocks and
    /// 1-second file systems).
    static let racyMarginNanoseconds: Int64 = 1_000_000_000
    static let header = "kbuild-source-index-v1"

    /// What identifies one version of a file without reading it.
    struct Signature: Hashable {
        var size: Int64
        var mtime: Int64
        var ctime: Int64
        var inode: UInt64
        var device: UInt64
        var mode: UInt32

        init(_ info: stat) {
            size = Int64(info.st_size)
            mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            ctime = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
            inode = UInt64(info.st_ino)
            device = UInt64(info.st_dev)
            mode = UInt32(info.st_mode)
        }

        init(size: Int64, mtime: Int64, ctime: Int64, inode: UInt64, device: UInt64, mode: UInt32) {
            (self.size, self.mtime, self.ctime, self.inode, self.device, self.mode) = (
                size, mtime, ctime, inode, device, mode
            )
        }

        /// True when the file changed long enough before `indexedAt` that a same-tick rewrite is excluded.
        func isSettled(indexedAt: Int64) -> Bool {
            max(mtime, ctime) < indexedAt - SourceIndex.racyMarginNanoseconds
        }
    }

    struct Entry {
        var signature: Signature
        var digest: String
    }

    /// What the last run recorded: its start time and each file's entry.
    struct Index {
        var indexedAt: Int64 = 0
        var entries: [String: Entry] = [:]
    }

    /// What this run saw, in walk order (an array: cheaper than a dictionary, and only written when needed).
    struct Seen {
        var indexedAt: Int64
        var entries: [(name: String, entry: Entry)] = []
    }

    /// How much work a digest took (tests and the benchmark read it).
    struct Outcome {
        var digest: String
        var files: Int
        var hashed: Int
    }

    /// The content digest of `workspace`, reusing and refreshing the index at `indexPath`.
    static func digest(_ workspace: String, indexPath: String) throws -> Outcome {
        let start = now()
        let previous = load(indexPath)
        var next = Seen(indexedAt: start)
        next.entries.reserveCapacity(previous.entries.count)
        var hashed = 0
        var hasher = Digest.Hasher(.sha256)
        // The records are hashed in 64 KiB batches: one small allocation per file was a tenth of a run.
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 16)
        func feed(_ record: String, _ hasher: inout Digest.Hasher) {
            pending.append(contentsOf: record.utf8)
            if pending.count >= 1 << 16 {
                pending.withUnsafeBytes { hasher.update($0) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        try walk(workspace, "") { relative, path, info in
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                let signature = Signature(info)
                let digest: String
                if let old = previous.entries[relative], old.signature == signature,
                    signature.isSettled(indexedAt: previous.indexedAt)
                {
                    digest = old.digest
                } else {
                    digest = try Digest.file(path, .sha256).hex
                    hashed += 1
                }
                next.entries.append((relative, Entry(signature: signature, digest: digest)))
                let executable = info.st_mode & 0o111 != 0 ? "x" : "-"
                feed("f \(relative)\0\(executable)\(digest)\n", &hasher)
            case S_IFLNK:
                feed("l \(relative)\0\(readLink(path))\n", &hasher)
            default:
                break
            }
        }
        // Rewrite only when something was hashed or removed: a run with nothing changed writes nothing.
        if hashed > 0 || next.entries.count != previous.entries.count {
            save(next, to: indexPath)
        }
        pending.withUnsafeBytes { hasher.update($0) }
        return Outcome(digest: hasher.finalize().hex, files: next.entries.count, hashed: hashed)
    }

    /// Visits every entry under `directory` (sorted by bytes, parents before children), skipping the
    /// top-level `_output` and `.git`, descending into real directories only. Entries are stat'ed relative
    /// to their directory's descriptor (`fstatat`): no path walk per file.
    static func walk(
        _ directory: String, _ relative: String, _ visit: (String, String, stat) throws -> Void
    ) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let stream = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            throw ReleaseError.io(path: directory, reason: "cannot list: \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }  // closes fd too
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            if relative.isEmpty && (name == "_output" || name == ".git") { continue }
            names.append(name)
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            let inside = relative.isEmpty ? name : relative + "/" + name
            let path = directory + "/" + name
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                try walk(path, inside, visit)
            } else {
                try visit(inside, path, info)
            }
        }
    }

    static func readLink(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return "" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    // MARK: - The index file: a header line, then `path NUL size mtime ctime inode device mode digest LF`

    static func load(_ path: String) -> Index {
        guard let data = FileManager.default.contents(atPath: path) else { return Index() }
        // A hand-written scanner: this runs on every release over tens of thousands of records.
        return data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Index in
            var index = Index()
            var position = 0
            let count = bytes.count
            func skipLine() {
                while position < count && bytes[position] != 0x0A { position += 1 }
                position += 1
            }
            func number() -> UInt64? {
                var value: UInt64 = 0
                var digits = 0
                while position < count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                    value = value &* 10 &+ UInt64(bytes[position] - 0x30)
                    position += 1
                    digits += 1
                }
                guard digits > 0, digits <= 20, position < count, bytes[position] == 0x20 else { return nil }
                position += 1
                return value
            }
            let prefix = Array((header + " ").utf8)
            guard count > prefix.count, prefix.indices.allSatisfy({ bytes[$0] == prefix[$0] }) else { return Index() }
            position = prefix.count
            var indexedAt: Int64 = 0
            while position < count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                indexedAt = indexedAt &* 10 &+ Int64(bytes[position] - 0x30)
                position += 1
            }
            guard position < count, bytes[position] == 0x0A else { return Index() }
            position += 1
            index.indexedAt = indexedAt
            index.entries.reserveCapacity(count / 100)
            while position < count {
                let nameStart = position
                while position < count && bytes[position] != 0 && bytes[position] != 0x0A { position += 1 }
                guard position < count, bytes[position] == 0 else {
                    skipLine()
                    continue
                }
                let name = String(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<position]), as: UTF8.self)
                position += 1
                guard let size = number(), let mtime = number(), let ctime = number(), let inode = number(),
                    let device = number(), let mode = number()
                else {
                    skipLine()
                    continue
                }
                let digestStart = position
                while position < count && bytes[position] != 0x0A { position += 1 }
                let digest = String(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[digestStart..<position]), as: UTF8.self)
                position += 1
                let signature = Signature(
                    size: Int64(bitPattern: size), mtime: Int64(bitPattern: mtime), ctime: Int64(bitPattern: ctime),
                    inode: inode, device: device, mode: UInt32(truncatingIfNeeded: mode))
                index.entries[name] = Entry(signature: signature, digest: digest)
            }
            return index
        }
    }

    /// A lost or unwritable index only costs hashing again.
    static func save(_ index: Seen, to path: String) {
        var data = Data("\(header) \(index.indexedAt)\n".utf8)
        for (name, entry) in index.entries where !name.utf8.contains(UInt8(ascii: "\n")) {
            let s = entry.signature
            data.append(contentsOf: Array(name.utf8))
            data.append(0)
            data.append(
                contentsOf: Array(
                    "\(s.size) \(s.mtime) \(s.ctime) \(s.inode) \(s.device) \(s.mode) \(entry.digest)\n".utf8))
        }
        try? FileManager.default.createDirectory(atPath: Paths.parent(of: path), withIntermediateDirectories: true)
        try? FileOutput.writeAtomically(data, to: path, durable: false)
    }
}
