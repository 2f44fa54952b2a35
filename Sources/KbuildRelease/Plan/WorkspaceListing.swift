import Foundation
import KbuildArtifact
import KbuildConfig
import KbuildCore

/// The workspace facts a plan is made of, read once before planning: which top-level license and readme
/// files exist, and every file of every workspace file and tree the layout carries (each walked once,
/// however many archives carry it), the add-on manifests among them. The planner itself reads nothing.
public struct WorkspaceListing: Sendable, Hashable {
    /// Which of the Kubernetes layout's license and readme candidates exist at the top of the workspace.
    public var present: Set<String>
    /// The regular files of each workspace file or tree, by its path as configured: a file lists itself
    /// (relative path `""`), a directory its files beneath it.
    public var trees: [String: [WorkspaceTree.File]]
    /// The add-on manifests (Kubernetes' layout only), label-checked.
    public var addons: [AddonManifests.Manifest]

    public init(
        present: Set<String>, trees: [String: [WorkspaceTree.File]] = [:], addons: [AddonManifests.Manifest] = []
    ) {
        self.present = present
        self.trees = trees
        self.addons = addons
    }

    /// Walks what `config`'s layout carries from `workspace`: a configured layout's `files`, or Kubernetes'
    /// license, readme, `full.include` and add-ons.
    public static func read(config: ReleaseConfig, workspace: String) throws(ReleaseError) -> WorkspaceListing {
        let present = KubernetesLayout.presentFiles(in: workspace)
        var paths: [String] = []
        var addons: [AddonManifests.Manifest] = []
        if let archives = config.archives {
            paths = archives.flatMap { $0.files.map(\.source) }
        } else {
            let candidates = [KubernetesLayout.licenseCandidates, KubernetesLayout.readmeCandidates]
            paths = candidates.compactMap { $0.first(where: present.contains) } + config.full.include
            addons = try AddonManifests.find(
                workspace: workspace, directories: config.addons.dirs, exclude: config.addons.exclude)
        }
        var trees: [String: [WorkspaceTree.File]] = [:]
        for path in paths where trees[path] == nil {
            trees[path] = try WorkspaceTree.files(of: Paths.absolute(path, relativeTo: workspace), workspace: workspace)
        }
        return WorkspaceListing(present: present, trees: trees, addons: addons)
    }

    /// The entries of the workspace file or tree `path` placed at `destination`: one per file, 0755 when
    /// executable, else 0644. A tree that is a single file is that file at `destination`.
    func entries(of path: String, at destination: String) -> [ArchiveEntry] {
        (trees[path] ?? []).map { file in
            file.path.isEmpty
                ? .workspace(.workspaceFile(path: path), executable: file.executable, at: destination)
                : .workspace(
                    .treeFile(path: path + "/" + file.path, tree: path), executable: file.executable,
                    at: destination + "/" + file.path)
        }
    }

    /// The add-on manifests under `destination` (`<project>/addons`).
    func addonEntries(at destination: String) -> [ArchiveEntry] {
        addons.map { manifest in
            .workspace(
                .treeFile(path: manifest.directory + "/" + manifest.relativePath, tree: manifest.directory),
                executable: manifest.executable, at: destination + "/" + manifest.relativePath)
        }
    }
}

/// Walks workspace files and trees: regular files only, names sorted at each level, symlinks followed
/// only while they stay in the workspace, never around a loop, and at most `maximumFiles` files.
public enum WorkspaceTree {
    /// One regular file: its path beneath the walked directory (`""` for a walked file) and its mode.
    public struct File: Sendable, Hashable {
        public var path: String
        public var executable: Bool

        public init(path: String, executable: Bool) {
            self.path = path
            self.executable = executable
        }
    }

    /// Bounds the walk (and so the plan's memory): far more than any layout's trees hold.
    public static let maximumFiles = 1_000_000

    /// The file at `root` itself, or every regular file beneath the directory at `root`.
    public static func files(of root: String, workspace: String, limit: Int = maximumFiles) throws(ReleaseError)
        -> [File]
    {
        var info = stat()
        guard lstat(root, &info) == 0 else {
            throw .missingInput(path: root, what: "file or directory (named in the release config)")
        }
        let realWorkspace = WorkspaceTree.realPath(workspace)
        if info.st_mode & S_IFMT == S_IFLNK {
            guard let target = try follow(root, inside: realWorkspace) else {
                throw .missingInput(path: root, what: "symlink target \(WorkspaceTree.realPath(root))")
            }
            info = target
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return [File(path: "", executable: info.st_mode & 0o111 != 0)]
        case S_IFDIR:
            var walk = Walk(realWorkspace: realWorkspace, limit: limit)
            try walk.directory(root, "", info)
            return walk.files
        default:
            throw .unsafeInput(
                path: root, reason: "is \(FileKind(mode: info.st_mode)); allowed: a regular file or a directory")
        }
    }

    /// The stat of the symlink's target, refused when it leaves the workspace; nil when it dangles.
    static func follow(_ path: String, inside realWorkspace: String) throws(ReleaseError) -> stat? {
        let resolved = WorkspaceTree.realPath(path)
        guard resolved == realWorkspace || resolved.hasPrefix(realWorkspace + "/") else {
            throw .unsafeInput(path: path, reason: WorkspaceTree.outsideReason(resolved))
        }
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }

    private struct Walk {
        let realWorkspace: String
        let limit: Int
        var files: [File] = []
        /// The directories being walked (device, inode): a symlink back to one of them is a loop.
        var open: [(UInt64, UInt64)] = []

        mutating func directory(_ path: String, _ relative: String, _ info: stat) throws(ReleaseError) {
            let id = (UInt64(info.st_dev), UInt64(info.st_ino))
            guard !open.contains(where: { $0 == id }) else {
                throw .unsafeInput(
                    path: path,
                    reason: "a symlink loops back to a directory that holds it; allowed: symlinks that do not")
            }
            open.append(id)
            defer { open.removeLast() }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            } catch {
                throw .io(path: path, reason: "cannot list: \(Escaping.reason(of: error))")
            }
            for name in names {
                let child = path + "/" + name
                let inside = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(child, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFLNK {
                    // Dangling links are left out; links out of the workspace are refused.
                    guard let target = try WorkspaceTree.follow(child, inside: realWorkspace) else { continue }
                    info = target
                }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: try directory(child, inside, info)
                case S_IFREG:
                    guard files.count < limit else {
                        throw .unsafeInput(
                            path: child, reason: "is past the \(limit)th file of its tree; allowed: at most \(limit)")
                    }
                    files.append(File(path: inside, executable: info.st_mode & 0o111 != 0))
                default: continue
                }
            }
        }
    }

    /// Why a symlink leaving the workspace is refused, and what is allowed instead.
    static func outsideReason(_ resolved: String) -> String {
        "symlink points outside the workspace, to \(resolved); only symlinks that stay inside the workspace are followed"
    }

    /// `path` with every symlink resolved (realpath(3)), or `path` itself when it cannot be resolved.
    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
