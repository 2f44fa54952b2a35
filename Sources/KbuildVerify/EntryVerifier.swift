import Foundation
import KbuildArchive
import KbuildArtifact
import KbuildCore

/// One entry as an archive holds it: what verify compares with the plan's entry.
struct FoundEntry: Sendable, Hashable {
    enum EntryType: String, Sendable, Hashable {
        case file, directory, symlink, hardlink, other
    }

    var path: String
    var type: EntryType
    /// Permission bits only.
    var mode: UInt32
    /// A link's target.
    var target: String?

    /// How the entry is described in a failure: `a symlink to /outside`, `a file with mode 0700`.
    var described: String {
        switch type {
        case .symlink, .hardlink: return "a \(type.rawValue) to \(Escaping.shown(target ?? ""))"
        default: return "a \(type.rawValue) with mode \(octal(mode))"
        }
    }
}

func octal(_ mode: UInt32) -> String { "0" + String(mode, radix: 8) }

/// Checks that an archive holds exactly the entries the plan lists: every planned file (each file of a
/// workspace tree among them) with its type and mode, nothing else but the directories above them and the
/// files of git's tree in the src tarball, which the plan names as one `tree` entry. A link
/// where the plan has none (a symlink out of the archive, a hardlink to `/etc/shadow`) fails, named.
struct EntryVerifier {
    let archive: PlannedArchive

    /// Reads the entries of the archive at `path` (tar.gz or zip) and compares them with the plan.
    func verify(_ path: String) -> [VerifyCheck] {
        let found: [FoundEntry]
        do {
            found = try Self.read(path, format: archive.format)
        } catch {
            return [.fail("entries", archive.name, "does not open as \(archive.format.rawValue): \(error)")]
        }
        return compare(found)
    }

    static func read(_ path: String, format: ArchiveFormat) throws -> [FoundEntry] {
        switch format {
        case .binary:
            return []
        case .zip:
            return try ZipReader.entries(path: path).map { entry in
                FoundEntry(
                    path: entry.path, type: entry.isDirectory ? .directory : entry.isSymlink ? .symlink : .file,
                    mode: entry.mode & 0o7777)
            }
        case .tarGz:
            let reader = try TarReader(path: path)
            var entries: [FoundEntry] = []
            while let header = try reader.next() {
                var entryPath = header.path
                while entryPath.hasSuffix("/") { entryPath.removeLast() }
                let type: FoundEntry.EntryType =
                    switch header.kind {
                    case .file: .file
                    case .directory: .directory
                    case .symlink: .symlink
                    case .hardlink: .hardlink
                    case .other: .other
                    }
                entries.append(
                    FoundEntry(path: entryPath, type: type, mode: header.mode & 0o7777, target: header.linkTarget))
            }
            return entries
        }
    }

    /// The failures, one per wrong entry, or one `ok` line.
    func compare(_ found: [FoundEntry]) -> [VerifyCheck] {
        var failures = BoundedFailures()
        for (path, problem) in problems(found) {
            failures.fail("entries", archive: archive.name, entry: path, problem.detail)
        }
        if failures.isEmpty {
            return [.ok("entries", archive.name, "\(found.count) entries, exactly as the plan lists them")]
        }
        return failures.checks
    }

    /// Every wrong entry with what is wrong with it, planned entries first, in the plan's order.
    func problems(_ found: [FoundEntry]) -> [(path: String, problem: EntryProblem)] {
        var problems: [(path: String, problem: EntryProblem)] = []
        let byPath = Dictionary(found.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var parents: Set<String> = []
        for entry in archive.entries {
            var parent = entry.path
            while let slash = parent.lastIndex(of: "/") {
                parent = String(parent[..<slash])
                parents.insert(parent)
            }
            guard entry.type != .tree else { continue }
            let want: FoundEntry.EntryType = entry.type == .directory ? .directory : .file
            guard let have = byPath[entry.path] else {
                problems.append((entry.path, .missing(planned: want)))
                continue
            }
            if have.type != want {
                problems.append((entry.path, .retyped(found: have, planned: want)))
            } else if let mode = entry.mode.map(UInt32.init), have.mode != mode {
                problems.append((entry.path, .remoded(found: have.mode, planned: mode)))
            }
        }
        let planned = Set(archive.entries.filter { $0.type != .tree }.map(\.path))
        let trees = archive.entries.filter { $0.type == .tree }
        for entry in found where !planned.contains(entry.path) {
            if parents.contains(entry.path) {
                if entry.type != .directory || entry.mode != 0o755 {
                    problems.append((entry.path, .notAParentDirectory(found: entry)))
                }
                continue
            }
            guard
                let tree = trees.first(where: {
                    $0.path.isEmpty || entry.path.hasPrefix($0.path + "/") || entry.path == $0.path
                })
            else {
                problems.append((entry.path, .unplanned(found: entry)))
                continue
            }
            if let problem = Self.treeProblem(entry, keepsLinks: tree.source == .gitTree) {
                problems.append((entry.path, problem))
            }
        }
        return problems
    }

    /// What is wrong with an entry found under a tree: only files (0755/0644) and directories (0755);
    /// symlinks only in git's tree, and never one that leaves the archive.
    static func treeProblem(_ entry: FoundEntry, keepsLinks: Bool) -> EntryProblem? {
        switch entry.type {
        case .file where entry.mode == 0o755 || entry.mode == 0o644: return nil
        case .directory where entry.mode == 0o755: return nil
        case .symlink where keepsLinks:
            let target = entry.target ?? ""
            let resolved = Paths.parent(of: entry.path) + "/" + target
            return !target.hasPrefix("/") && SafePath.staysInside(resolved) ? nil : .leavesArchive(found: entry)
        case .file, .directory:
            return .badTreeMode(found: entry)
        default:
            return .linkInTree(found: entry)
        }
    }
}

/// What is wrong with one entry of an archive against the plan: a value tests and tools match on;
/// `detail` says it for people.
enum EntryProblem: Hashable, Sendable {
    /// The plan has an entry of this type at the path; the archive has nothing there.
    case missing(planned: FoundEntry.EntryType)
    /// The archive holds another type there (a symlink or hardlink where the plan has a file…).
    case retyped(found: FoundEntry, planned: FoundEntry.EntryType)
    /// The right type with other permission bits.
    case remoded(found: UInt32, planned: UInt32)
    /// An entry the plan does not list, outside every tree it names.
    case unplanned(found: FoundEntry)
    /// A directory above planned entries that is not a 0755 directory.
    case notAParentDirectory(found: FoundEntry)
    /// A file or directory in a tree with permissions a tree never has.
    case badTreeMode(found: FoundEntry)
    /// A link in a tree that keeps none (only git's tree keeps symlinks).
    case linkInTree(found: FoundEntry)
    /// A symlink in git's tree whose target leaves the archive.
    case leavesArchive(found: FoundEntry)

    var detail: String {
        switch self {
        case .missing(let planned): return "missing: the plan puts a \(planned.rawValue) here"
        case .retyped(let found, let planned): return "is \(found.described), the plan has a \(planned.rawValue)"
        case .remoded(let found, let planned): return "has mode \(octal(found)), the plan says \(octal(planned))"
        case .unplanned(let found): return "is \(found.described) that the plan does not list"
        case .notAParentDirectory(let found): return "is \(found.described), the plan has a directory (0755) here"
        case .badTreeMode(let found): return "is \(found.described); allowed: 0755 or 0644 files, 0755 directories"
        case .linkInTree(let found): return "is \(found.described); the plan has files and directories here"
        case .leavesArchive(let found): return "is \(found.described), which leaves the archive"
        }
    }
}
