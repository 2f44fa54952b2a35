import Foundation
import KbuildCore
import KbuildDigest

/// The content digest of a workspace's sources — every regular file and symlink outside `_output` and
/// `.git`, by path, executable bit and content — with a stat-based shortcut: a per-workspace index
/// (`_output/cache/source-index`) remembers each file's content digest with its stat signature (size,
/// mtime and ctime in nanoseconds, inode, device, mode). A file is hashed again whenever its signature
/// changed; unchanged files are not read. The tests compare the result with a digest that reads every
/// file (their `WorkspaceDigest`).
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

    /// How much work a digest took (tests and the benchmark read it).
    struct Outcome: Sendable {
        var digest: String
        var files: Int
        var hashed: Int
        /// The refreshed index file, when it differs from the one read (something was hashed or removed).
        var refreshedIndex: [UInt8]?

        /// Writes the refreshed index, if any. A lost or unwritable index only costs hashing again.
        func saveIndex(to path: String) {
            guard let refreshedIndex else { return }
            try? FileManager.default.createDirectory(atPath: Paths.parent(of: path), withIntermediateDirectories: true)
            try? FileOutput.writeAtomically(Data(refreshedIndex), to: path, durable: false)
        }
    }

    /// A file this run saw, for the next index: its digest is the old record's bytes or a new hash.
    private struct Seen {
        var name: String
        var signature: FileSignature
        var digest: SeenDigest
    }

    private enum SeenDigest {
        case recorded(Range<Int>)
        case computed([UInt8])
    }

    /// The content digest of `workspace`, reusing and refreshing the index at `indexPath`.
    static func digest(_ workspace: String, indexPath: String) throws -> Outcome {
        let outcome = try scan(workspace, indexPath: indexPath)
        outcome.saveIndex(to: indexPath)
        return outcome
    }

    /// `digest` without writing anything: the refreshed index comes back in the outcome, for the caller to
    /// save once writing under `_output` cannot disturb anything (git's view of the tree, the lock).
    static func scan(_ workspace: String, indexPath: String, stop: CancellationFlag? = nil) throws -> Outcome {
        let start = now()
        var previous = Index(contentsOf: indexPath)
        var seen: [Seen] = []
        seen.reserveCapacity(previous.records.count)
        var hashed = 0
        var hasher = Digest.Hasher(.sha256)
        // Records are appended as bytes and hashed in 64 KiB batches: no string or allocation per file.
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 17)
        func append(_ kind: UInt8, _ name: String, _ hasher: inout Digest.Hasher, _ tail: (inout [UInt8]) -> Void) {
            pending.append(kind)
            pending.append(0x20)
            pending.append(contentsOf: name.utf8)
            pending.append(0)
            tail(&pending)
            pending.append(0x0A)
            if pending.count >= 1 << 16 {
                pending.withUnsafeBytes { hasher.update($0) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        try walk(workspace, "") { relative, directory, name, info in
            try stop?.check()
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                let signature = FileSignature(info)
                let digest: SeenDigest
                if let record = previous.find(relative), record.signature == signature,
                    signature.isSettled(indexedAt: previous.indexedAt)
                {
                    digest = .recorded(record.digest)
                } else {
                    digest = .computed(Array(try Digest.file(directory + "/" + name, .sha256).hex.utf8))
                    hashed += 1
                }
                seen.append(Seen(name: relative, signature: signature, digest: digest))
                let executable: UInt8 = info.st_mode & 0o111 != 0 ? 0x78 : 0x2D  // "x" or "-"
                append(0x66, relative, &hasher) { bytes in  // "f"
                    bytes.append(executable)
                    switch digest {
                    case .recorded(let range): bytes.append(contentsOf: previous.bytes[range])
                    case .computed(let hex): bytes.append(contentsOf: hex)
                    }
                }
            case S_IFLNK:
                let target = readLink(directory + "/" + name)
                append(0x6C, relative, &hasher) { $0.append(contentsOf: target.utf8) }  // "l"
            default:
                break
            }
        }
        // Rewrite only when something was hashed or removed: a run with nothing changed writes nothing.
        let refreshed =
            hashed > 0 || seen.count != previous.records.count
            ? indexFile(seen, indexedAt: start, recorded: previous.bytes) : nil
        pending.withUnsafeBytes { hasher.update($0) }
        return Outcome(digest: hasher.finalize().hex, files: seen.count, hashed: hashed, refreshedIndex: refreshed)
    }

    /// Visits every entry under `directory` (sorted by bytes, parents before children) with its relative
    /// path, its directory and its name, skipping the top-level `_output` and `.git`, descending into real
    /// directories only. Entries are stat'ed relative to their directory's descriptor (`fstatat`): no
    /// path walk per file.
    static func walk(
        _ directory: String, _ relative: String, _ visit: (String, String, String, stat) throws -> Void
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
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                try walk(directory + "/" + name, inside, visit)
            } else {
                try visit(inside, directory, name, info)
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

    /// The index file of what this run saw (names with a newline cannot be recorded: they are hashed every
    /// time); `recorded` holds the bytes that recorded digests point into.
    private static func indexFile(_ seen: [Seen], indexedAt: Int64, recorded: [UInt8]) -> [UInt8] {
        var bytes = Array("\(header) \(indexedAt)\n".utf8)
        bytes.reserveCapacity(seen.count * 160)
        for file in seen where !file.name.utf8.contains(0x0A) {
            let s = file.signature
            bytes.append(contentsOf: file.name.utf8)
            bytes.append(0)
            bytes.append(contentsOf: "\(s.size) \(s.mtime) \(s.ctime) \(s.inode) \(s.device) \(s.mode) ".utf8)
            switch file.digest {
            case .recorded(let range): bytes.append(contentsOf: recorded[range])
            case .computed(let hex): bytes.append(contentsOf: hex)
            }
            bytes.append(0x0A)
        }
        return bytes
    }
}

extension FileSignature {
    /// True when the file changed long enough before `indexedAt` that a same-tick rewrite is excluded.
    func isSettled(indexedAt: Int64) -> Bool {
        max(mtime, ctime) < indexedAt - SourceIndex.racyMarginNanoseconds
    }
}
