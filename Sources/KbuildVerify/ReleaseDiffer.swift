import Foundation
import KbuildArchive
import KbuildCore
import KbuildProof

/// `kbuild diff`: explains how two release directories, tarballs, image tarballs or binaries differ,
/// down to the tar header field, gzip header field, JSON key or Go build setting.
public struct ReleaseDiffer: Sendable {
    public var runner: any ProcessRunner
    /// `go`, for `go version -m` of two differing Go binaries; nil: compare their bytes only.
    public var go: String?
    /// Stop after this many differences (a wholly different release would otherwise print thousands).
    public var limit: Int

    public init(runner: any ProcessRunner = SubprocessRunner(), environment: [String: String], limit: Int = 500) {
        self.runner = runner
        self.go =
            environment["GO"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ExecutableLookup.find("go", path: environment["PATH"] ?? "/usr/bin:/bin")
        self.limit = limit
    }

    /// Compares `a` and `b`: two directories or two files.
    public func compare(_ a: String, _ b: String) async throws(VerifyError) -> DiffReport {
        let kindA = try Self.kind(a)
        let kindB = try Self.kind(b)
        guard kindA == kindB else {
            throw .incomparable(
                a: a, b: b, reason: "one is a directory, the other a file; give two directories or two files")
        }
        let scratch: String
        do { scratch = try Scratch.make("kbuild-diff") } catch {
            throw .unreadable(path: NSTemporaryDirectory(), reason: "cannot create a scratch directory")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var walker = DiffWalker(differ: self, scratch: scratch)
        if kindA {
            try await walker.directories(a, b)
        } else {
            try await walker.files(a, b, path: Paths.name(of: b))
        }
        return DiffReport(a: a, b: b, differences: walker.found)
    }

    /// True for a directory, false for a file.
    static func kind(_ path: String) throws(VerifyError) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(
                path: path, reason: "no such file or directory; expected a release directory, a tarball or a binary")
        }
        return isDirectory.boolValue
    }

    /// The bytes of a file the user named (a symlink they named is theirs to follow): a FIFO or a device is
    /// refused, never opened blocking.
    static func read(_ path: String) throws(VerifyError) -> Data {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return try read(Paths.name(of: resolved), beneath: Paths.parent(of: resolved))
    }

    /// The regular file `relative` beneath `root`, opened through no symlink and never blocking.
    static func open(_ relative: String, beneath root: String) throws(VerifyError) -> OpenFile {
        do {
            return try Beneath(root).open(relative)
        } catch {
            throw .unreadable(path: error.path, reason: error.reason + "; expected a regular file")
        }
    }

    /// The bytes of the regular file `relative` beneath `root` (no symlink followed, never blocking), mapped.
    static func read(_ relative: String, beneath root: String) throws(VerifyError) -> Data {
        let file = try open(relative, beneath: root)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: file.reopenPath), options: .alwaysMapped)
        } catch {
            throw .unreadable(path: file.path, reason: "cannot be read; expected a readable file")
        }
    }
}

/// One comparison in progress: collects differences, recursing into what it recognises.
struct DiffWalker {
    let differ: ReleaseDiffer
    let scratch: String
    private(set) var found: [Difference] = []
    var counter = 0

    init(differ: ReleaseDiffer, scratch: String) {
        self.differ = differ
        self.scratch = scratch
    }

    mutating func add(_ difference: Difference) {
        if found.count < differ.limit { found.append(difference) }
    }

    var full: Bool { found.count >= differ.limit }

    mutating func directories(_ a: String, _ b: String) async throws(VerifyError) {
        let (filesA, otherA) = Self.files(a)
        let (filesB, otherB) = Self.files(b)
        for name in filesA.subtracting(filesB).sorted() { add(Difference(.removed, name, "file")) }
        for name in filesB.subtracting(filesA).sorted() { add(Difference(.added, name, "file")) }
        // Neither followed nor opened: a symlink may lead out of the tree, a FIFO would block.
        for name in Set(otherA.keys).union(otherB.keys).sorted() {
            add(Difference(.changed, name, "not a regular file, not compared", a: otherA[name], b: otherB[name]))
        }
        for name in filesA.intersection(filesB).sorted() where !full {
            // Opened beneath each directory (no symlink, never blocking); compared through those descriptors.
            let fileA = try ReleaseDiffer.open(name, beneath: a)
            let fileB = try ReleaseDiffer.open(name, beneath: b)
            try await files(fileA.reopenPath, fileB.reopenPath, path: name)
        }
    }

    /// Regular files under `root`, relative, skipping kbuild's temporaries; and what else is there (a symlink,
    /// a FIFO, a device), by path, in words. Symlinked directories are not descended into.
    static func files(_ root: String) -> (files: Set<String>, other: [String: String]) {
        var files: Set<String> = []
        var other: [String: String] = [:]
        let tree = Beneath(root)
        func walk(_ relative: String) {
            for entry in (try? tree.list(relative)) ?? [] where !entry.name.contains(".kbuild-tmp") {
                let inside = relative.isEmpty ? entry.name : relative + "/" + entry.name
                if entry.isRegularFile {
                    files.insert(inside)
                } else if entry.isDirectory {
                    walk(inside)
                } else {
                    other[inside] = tree.describe(inside)
                }
            }
        }
        walk("")
        return (files, other)
    }

    /// What a file is, from its bytes.
    enum Kind: String {
        case gzip, tar, binary = "executable", json, text, data
    }

    static func kind(_ bytes: Data) -> Kind {
        let head = Array(bytes.prefix(BinaryFormat.headerSize))
        if head.starts(with: [0x1f, 0x8b]) { return .gzip }
        if head.count >= 262, head[257..<262].elementsEqual(Array("ustar".utf8)) { return .tar }
        if BinaryFormat.detect(head) != nil { return .binary }
        if let first = head.first(where: { ![0x20, 0x0a, 0x0d, 0x09].contains($0) }), first == 0x7b || first == 0x5b,
            JSONValue.parse(bytes) != nil
        {
            return .json
        }
        if !head.contains(0), String(data: bytes.prefix(1 << 20), encoding: .utf8) != nil { return .text }
        return .data
    }

    /// Explains how `a` and `b` differ (nothing when equal), recursing into archives.
    mutating func content(_ a: Data, _ b: Data, path: String, depth: Int) async {
        guard a != b, !full else { return }
        let kindA = Self.kind(a)
        let kindB = Self.kind(b)
        guard kindA == kindB else {
            add(Difference(.changed, path, "file type", a: kindA.rawValue, b: kindB.rawValue))
            return
        }
        switch kindA {
        case .gzip: await gzip(a, b, path: path, depth: depth)
        case .tar: await tar(a, b, path: path, depth: depth)
        case .binary: await binary(a, b, path: path)
        case .json: json(a, b, path: path)
        case .text: text(a, b, path: path)
        case .data: bytes(a, b, path: path)
        }
    }

    mutating func gzip(_ a: Data, _ b: Data, path: String, depth: Int) async {
        counter += 1
        let fileA = scratch + "/\(counter)a.gz"
        let fileB = scratch + "/\(counter)b.gz"
        defer {
            unlink(fileA)
            unlink(fileB)
        }
        guard FileManager.default.createFile(atPath: fileA, contents: a),
            FileManager.default.createFile(atPath: fileB, contents: b)
        else { return }
        await gzipFiles(
            fileA, fileB, GzipHeader(a), GzipHeader(b), sizes: (Int64(a.count), Int64(b.count)), path: path,
            depth: depth)
    }

    /// Two gzip files: header fields, then the decompressed streams (held, or digested as they stream).
    mutating func gzipFiles(
        _ fileA: String, _ fileB: String, _ headerA: GzipHeader?, _ headerB: GzipHeader?, sizes: (Int64, Int64),
        path: String, depth: Int
    ) async {
        if let headerA, let headerB {
            for ((field, valueA), (_, valueB)) in zip(headerA.fields, headerB.fields) where valueA != valueB {
                add(Difference(.changed, path, field, a: valueA, b: valueB))
            }
        }
        guard let streamA = await inflate(fileA), let streamB = await inflate(fileB) else {
            if let headerA, let headerB,
                headerA.trailerCRC != headerB.trailerCRC || headerA.trailerSize != headerB.trailerSize
            {
                add(
                    Difference(
                        .changed, path, "gzip trailer", a: "crc32 \(headerA.trailerCRC) size \(headerA.trailerSize)",
                        b: "crc32 \(headerB.trailerCRC) size \(headerB.trailerSize)"))
            }
            add(
                Difference(
                    .changed, path, "gzip stream", a: "\(sizes.0) bytes",
                    b: "\(sizes.1) bytes (one does not decompress)"))
            return
        }
        guard let plainA = streamA.bytes, let plainB = streamB.bytes else {
            await large(streamA, streamB, headerA, headerB, sizes: sizes, path: path, depth: depth)
            return
        }
        if plainA == plainB {
            sameContent(headerA, headerB, sizes: sizes, path: path)
            return
        }
        await content(plainA, plainB, path: path, depth: depth)
    }

    /// Streams over `heldBytes` (a decompression bomb, a huge archive): compared by what was counted
    /// and digested while streaming and by the kind their first bytes show; two tar streams entry by entry.
    mutating func large(
        _ streamA: Inflated, _ streamB: Inflated, _ headerA: GzipHeader?, _ headerB: GzipHeader?,
        sizes: (Int64, Int64), path: String, depth: Int
    ) async {
        if streamA.size == streamB.size && streamA.sha256 == streamB.sha256 {
            sameContent(headerA, headerB, sizes: sizes, path: path)
            return
        }
        let kindA = Self.kind(streamA.head)
        let kindB = Self.kind(streamB.head)
        guard kindA == kindB else {
            add(Difference(.changed, path, "file type", a: kindA.rawValue, b: kindB.rawValue))
            return
        }
        if kindA == .tar, await streamedTar(streamA.file, streamB.file, path: path, depth: depth) { return }
        add(
            Difference(
                .changed, path, "decompressed content (over \(ByteCount.text(Self.heldBytes)): compared by sha256)",
                a: streamA.summary, b: streamB.summary))
    }

    /// Two gzip streams of the same content: the trailer was altered, or the compressor differs.
    mutating func sameContent(
        _ headerA: GzipHeader?, _ headerB: GzipHeader?, sizes: (Int64, Int64), path: String
    ) {
        if let headerA, let headerB, headerA.fields.elementsEqual(headerB.fields, by: ==) {
            if headerA.trailerCRC != headerB.trailerCRC || headerA.trailerSize != headerB.trailerSize {
                // Same content yet another CRC-32 or size: the trailer itself was altered.
                add(
                    Difference(
                        .changed, path, "gzip trailer",
                        a: "crc32 \(headerA.trailerCRC) size \(headerA.trailerSize)",
                        b: "crc32 \(headerB.trailerCRC) size \(headerB.trailerSize)"))
            } else {
                // Same content, same header and trailer: the compressor or its level differ.
                add(
                    Difference(
                        .changed, path, "gzip compressed bytes (same content)", a: "\(sizes.0) bytes",
                        b: "\(sizes.1) bytes"))
            }
        }
    }

    /// Most decompressed bytes held in memory per side; a larger stream is digested as it streams.
    static let heldBytes: Int64 = 64 << 20

    /// A decompressed stream: its size and sha256, its first 64 KiB, and all of it when it fits `heldBytes`.
    struct Inflated {
        /// The compressed file it came from.
        var file: String
        var size: Int64
        var sha256: String
        var head: Data
        var bytes: Data?
        var summary: String { "\(ByteCount.text(size)) (\(size) bytes), sha256 \(sha256)" }
    }

    /// Decompresses `file` (libarchive: multi-member gzip works) first into nothing, counting and
    /// digesting, so a bomb costs time, never memory or disk; then, when small enough, into memory.
    mutating func inflate(_ file: String) async -> Inflated? {
        counter += 1
        let target = scratch + "/\(counter).plain"
        defer { unlink(target) }
        guard let (size, digest) = try? Decompressor.decompress(file, to: "/dev/null") else { return nil }
        if size <= Self.heldBytes {
            guard (try? Decompressor.decompress(file, to: target)) != nil,
                let plain = FileManager.default.contents(atPath: target)
            else { return nil }
            return Inflated(file: file, size: size, sha256: digest.hex, head: plain.prefix(1 << 16), bytes: plain)
        }
        // The head alone, from gzip itself (it stops when head has read enough), as base64 text.
        let head = try? await differ.runner.run(
            Command("/bin/sh", ["-c", "gzip -dc < \"$1\" | head -c 65536 | base64 -w0", "sh", file]))
        let decoded = head.flatMap { Data(base64Encoded: $0.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return Inflated(file: file, size: size, sha256: digest.hex, head: decoded ?? Data(), bytes: nil)
    }

    mutating func bytes(_ a: Data, _ b: Data, path: String) {
        let offset = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        func around(_ data: Data) -> String {
            let slice = data.dropFirst(offset).prefix(8)
            return "offset \(offset): "
                + (slice.isEmpty ? "(end)" : slice.map { String(format: "%02x", $0) }.joined(separator: " "))
                + (a.count != b.count ? ", \(data.count) bytes" : "")
        }
        add(Difference(.changed, path, "bytes", a: around(a), b: around(b)))
    }

    mutating func text(_ a: Data, _ b: Data, path: String) {
        let linesA = String(decoding: a, as: UTF8.self).components(separatedBy: "\n")
        let linesB = String(decoding: b, as: UTF8.self).components(separatedBy: "\n")
        for index in 0..<max(linesA.count, linesB.count) where !full {
            let lineA = index < linesA.count ? linesA[index] : nil
            let lineB = index < linesB.count ? linesB[index] : nil
            if lineA != lineB {
                add(Difference(.changed, path, "line \(index + 1)", a: lineA ?? "(none)", b: lineB ?? "(none)"))
                if found.filter({ $0.path == path }).count >= 10 { return }
            }
        }
    }
}
