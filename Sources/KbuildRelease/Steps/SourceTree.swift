import Foundation
import KbuildArchive
import KbuildCore

/// The source tarball's contents: exactly what git tracks at HEAD (`git ls-files` of the commit),
/// read from the commit rather than the working tree, the way `git archive` would (without its
/// export attributes). Symlinks stay symlinks with their targets unchanged — they are data, never
/// followed, wherever they point — and the executable bit of each file is kept.
public struct SourceTree: Sendable {
    /// One tarball entry per tracked file or symlink, paths relative to the workspace; files point
    /// into the directory the blobs were written to.
    public var entries: [TarEntry]

    /// The entries plus `name` (the `.kube-git-version` file) read from `source`, replacing a tracked
    /// file of that name.
    public func entries(adding name: String, from source: String) -> [TarEntry] {
        entries.filter { $0.path != name } + [.file(name, source: source, executable: false)]
    }

    /// Reads HEAD of the repository holding `workspace` (`git ls-tree -r -z HEAD` limited to the
    /// workspace, then `git cat-file --batch`), writing every file's committed bytes under `directory`
    /// at its path. nil when the workspace is not in a git repository with a commit (an unpacked source
    /// tarball): the caller then packs the files on disk, as before.
    public static func read(workspace: String, into directory: String, runner: any ProcessRunner) async throws
        -> SourceTree?
    {
        guard let listing = try? await runner.run(Command("git", ["-C", workspace, "ls-tree", "-r", "-z", "HEAD"])),
            listing.succeeded
        else { return nil }
        let items = try parseTree(listing.stdout)
        try createDirectory(directory)
        let ids = directory + "/.kbuild-blob-ids"
        let batch = directory + "/.kbuild-blobs"
        defer {
            unlink(ids)
            unlink(batch)
        }
        let wanted = items.filter { $0.kind != .submodule }
        try write(Data(wanted.map { $0.object + "\n" }.joined().utf8), to: ids)
        // Blobs stream from git to a file and from there, in bounded chunks, to one file each:
        // a big tree is never held in memory.
        _ = try await runner.check(
            Command(
                "/bin/sh", ["-c", "exec git -C \"$1\" cat-file --batch < \"$2\" > \"$3\"", "sh", workspace, ids, batch])
        )
        var reader = try BatchReader(path: batch)
        var entries: [TarEntry] = []
        for item in wanted {
            let size = try reader.header(for: item.object, path: item.path)
            switch item.kind {
            case .symlink:
                let target = try reader.bytes(size)
                entries.append(
                    TarEntry(path: item.path, content: .symlink(target: String(decoding: target, as: UTF8.self))))
            case .file, .executable:
                let destination = directory + "/" + item.path
                try createDirectory(Paths.parent(of: destination))
                try reader.copy(size, to: destination)
                entries.append(.file(item.path, source: destination, executable: item.kind == .executable))
            case .submodule:
                continue
            }
            try reader.skipNewline(path: item.path)
        }
        return SourceTree(entries: entries)
    }

    // MARK: - ls-tree

    enum Kind: Equatable { case file, executable, symlink, submodule }

    struct Item: Equatable {
        var kind: Kind
        var object: String
        var path: String
    }

    /// `<mode> SP <type> SP <object> TAB <path> NUL` records.
    static func parseTree(_ output: String) throws(ReleaseError) -> [Item] {
        try output.split(separator: "\0").map { (record) throws(ReleaseError) -> Item in
            guard let tab = record.firstIndex(of: "\t") else {
                throw .io(path: "git ls-tree", reason: "unexpected output line \(Escaping.shown(String(record)))")
            }
            let fields = record[..<tab].split(separator: " ")
            let path = String(record[record.index(after: tab)...])
            guard fields.count == 3 else {
                throw .io(path: "git ls-tree", reason: "unexpected output line \(Escaping.shown(String(record)))")
            }
            let kind: Kind
            switch fields[0] {
            case "100755": kind = .executable
            case "120000": kind = .symlink
            case "160000": kind = .submodule
            default: kind = .file
            }
            return Item(kind: kind, object: String(fields[2]), path: path)
        }
    }

    private static func createDirectory(_ path: String) throws(ReleaseError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io(path: path, reason: "cannot create directory: \(Escaping.reason(of: error))")
        }
    }

    private static func write(_ data: Data, to path: String) throws(ReleaseError) {
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw .io(path: path, reason: "cannot write: \(String(cString: strerror(errno)))")
        }
    }
}

/// Reads `git cat-file --batch` output: `<object> blob <size> LF <bytes> LF` per object.
private struct BatchReader {
    let handle: FileHandle
    let path: String
    var buffer: [UInt8] = []
    var position = 0

    init(path: String) throws(ReleaseError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .io(path: path, reason: "cannot open git cat-file output")
        }
        self.handle = handle
        self.path = path
    }

    /// Refills the buffer; false at the end of the file.
    mutating func fill() throws(ReleaseError) -> Bool {
        if position < buffer.count { return true }
        let chunk: Data?
        do {
            chunk = try handle.read(upToCount: 1 << 20)
        } catch {
            throw .io(path: path, reason: "cannot read git cat-file output")
        }
        guard let chunk, !chunk.isEmpty else { return false }
        buffer = [UInt8](chunk)
        position = 0
        return true
    }

    /// The size from the header of `object`; an error if git says it is missing or not a blob.
    mutating func header(for object: String, path file: String) throws(ReleaseError) -> Int {
        var line: [UInt8] = []
        while true {
            guard try fill() else { throw .io(path: file, reason: "git cat-file ended before blob \(object)") }
            let byte = buffer[position]
            position += 1
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        let fields = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard fields.count == 3, fields[0] == object, fields[1] == "blob", let size = Int(fields[2]), size >= 0 else {
            let said = Escaping.shown(String(decoding: line, as: UTF8.self))
            throw .io(
                path: file,
                reason:
                    "git cannot read its blob \(object) at HEAD (git cat-file: \(said)); allowed: a repository holding every object of HEAD (check with git fsck), as the src tarball is read from the commit"
            )
        }
        return size
    }

    /// The next `count` bytes (small objects: symlink targets).
    mutating func bytes(_ count: Int) throws(ReleaseError) -> [UInt8] {
        var result: [UInt8] = []
        try consume(count) { result.append(contentsOf: $0) }
        return result
    }

    /// Copies the next `count` bytes to a new file at `destination`.
    mutating func copy(_ count: Int, to destination: String) throws(ReleaseError) {
        guard FileManager.default.createFile(atPath: destination, contents: nil),
            let output = FileHandle(forWritingAtPath: destination)
        else { throw .io(path: destination, reason: "cannot create: \(String(cString: strerror(errno)))") }
        defer { try? output.close() }
        var failure: (any Error)?
        try consume(count) { slice in
            guard failure == nil else { return }
            do { try output.write(contentsOf: slice) } catch { failure = error }
        }
        if let failure { throw .io(path: destination, reason: "cannot write: \(Escaping.reason(of: failure))") }
    }

    mutating func skipNewline(path file: String) throws(ReleaseError) {
        guard try fill(), buffer[position] == UInt8(ascii: "\n") else {
            throw .io(path: file, reason: "git cat-file output is malformed")
        }
        position += 1
    }

    private mutating func consume(_ count: Int, _ body: (ArraySlice<UInt8>) -> Void) throws(ReleaseError) {
        var left = count
        while left > 0 {
            guard try fill() else { throw .io(path: path, reason: "git cat-file output ended early") }
            let take = min(left, buffer.count - position)
            body(buffer[position..<(position + take)])
            position += take
            left -= take
        }
    }
}
