import Foundation
import KbuildCore

/// One entry of a tarball we write. Owners, times and modes are not here on purpose:
/// `TarOptions` fixes them for every entry (see docs/reproducibility.md).
public struct TarEntry: Sendable, Hashable {
    /// What the entry is and where its bytes come from.
    public enum Content: Sendable, Hashable {
        case directory
        /// A regular file copied from disk, streamed (any size).
        case file(source: String)
        /// A regular file from memory.
        case data([UInt8])
        /// A symbolic link to `target` (kept as a link, never followed).
        case symlink(target: String)
    }

    /// Relative path inside the archive, `/`-separated, no leading `./` or `/`.
    public var path: String
    public var content: Content
    /// 0755 when true (directories always), else 0644.
    public var executable: Bool

    public init(path: String, content: Content, executable: Bool = false) {
        self.path = path
        self.content = content
        self.executable = executable
    }

    public static func directory(_ path: String) -> TarEntry {
        TarEntry(path: path, content: .directory, executable: true)
    }

    public static func file(_ path: String, source: String, executable: Bool) -> TarEntry {
        TarEntry(path: path, content: .file(source: source), executable: executable)
    }

    public static func data(_ path: String, _ bytes: [UInt8], executable: Bool = false) -> TarEntry {
        TarEntry(path: path, content: .data(bytes), executable: executable)
    }

    public static func data(_ path: String, _ text: String, executable: Bool = false) -> TarEntry {
        data(path, Array(text.utf8), executable: executable)
    }

    /// The normalized permission bits.
    public var mode: UInt32 {
        switch content {
        case .directory: return 0o755
        case .symlink: return 0o777
        case .file, .data: return executable ? 0o755 : 0o644
        }
    }
}

extension [TarEntry] {
    /// Sorted by path with every missing parent directory added, so archives list parents
    /// before children and the same inputs always give the same order.
    public func normalizedForArchive() throws(ArchiveError) -> [TarEntry] {
        var byPath: [String: TarEntry] = [:]
        for entry in self {
            let path = TarEntry.clean(entry.path)
            guard !path.isEmpty else { continue }
            var normalized = entry
            normalized.path = path
            if let existing = byPath[path] {
                // A directory named twice is harmless; anything else is a bug in the caller.
                if existing.content == .directory && normalized.content == .directory { continue }
                throw .duplicateEntry(archive: "tarball", entry: path)
            }
            byPath[path] = normalized
        }
        for path in [String](byPath.keys) {
            var parent = Paths.parent(of: path)
            while !parent.isEmpty, byPath[parent] == nil {
                byPath[parent] = .directory(parent)
                parent = Paths.parent(of: parent)
            }
        }
        // Byte order of the UTF-8 paths: independent of locale.
        return byPath.values.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }
}

extension TarEntry {
    /// Strips `./`, leading and trailing `/` and empty segments.
    static func clean(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true)
            .filter { $0 != "." }
            .joined(separator: "/")
    }

    /// Entries for everything under `directory`, placed under `prefix` in the archive.
    /// Symlinks are kept as links (their targets must stay inside `directory`); nothing is followed.
    public static func tree(of directory: String, under prefix: String) throws(ArchiveError) -> [TarEntry] {
        var entries: [TarEntry] = [.directory(prefix)]
        try walk(directory, relative: "", root: directory, prefix: prefix, into: &entries)
        return entries
    }

    private static func walk(
        _ absolute: String, relative: String, root: String, prefix: String, into entries: inout [TarEntry]
    ) throws(ArchiveError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: absolute).sorted()
        } catch {
            throw .io(path: absolute, reason: "cannot list directory: \(Escaping.reason(of: error))")
        }
        for name in names {
            let source = absolute + "/" + name
            let inside = relative.isEmpty ? name : relative + "/" + name
            let archivePath = prefix.isEmpty ? inside : prefix + "/" + inside
            var info = stat()
            guard lstat(source, &info) == 0 else {
                throw .io(path: source, reason: String(cString: strerror(errno)))
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entries.append(.directory(archivePath))
                try walk(source, relative: inside, root: root, prefix: prefix, into: &entries)
            case S_IFREG:
                entries.append(.file(archivePath, source: source, executable: info.st_mode & 0o111 != 0))
            case S_IFLNK:
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: source)) ?? ""
                guard SafePath.linkStaysInside(linkPath: inside, target: target) else {
                    throw .unsafeEntry(
                        archive: root, entry: inside, reason: "symlink to '\(target)' points outside \(root)")
                }
                entries.append(TarEntry(path: archivePath, content: .symlink(target: target)))
            default:
                throw .unsafeEntry(archive: root, entry: inside, reason: "not a file, directory or symlink")
            }
        }
    }
}

/// Path rules that keep archive entries inside their root.
public enum SafePath {
    /// True when `path` is relative and never climbs above its root (`a/../b` is fine, `../a` is not).
    public static func staysInside(_ path: String) -> Bool {
        guard !path.hasPrefix("/") else { return false }
        var depth = 0
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                depth -= 1
                if depth < 0 { return false }
            default: depth += 1
            }
        }
        return true
    }

    /// True when a symlink at `linkPath` (relative to the root) pointing at `target` resolves inside the root.
    public static func linkStaysInside(linkPath: String, target: String) -> Bool {
        guard !target.isEmpty, !target.hasPrefix("/") else { return false }
        let directory = Paths.parent(of: linkPath)
        return staysInside(directory.isEmpty ? target : directory + "/" + target)
    }
}
