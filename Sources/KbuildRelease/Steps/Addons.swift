import Foundation
import KbuildConfig
import KbuildCore

/// Finds the add-on manifests of a workspace and checks the cluster add-on label on each.
public enum AddonManifests {
    /// One manifest: where it is and where it goes (relative to its add-ons directory).
    public struct Manifest: Sendable, Hashable {
        public var source: String
        public var relativePath: String
    }

    /// Extensions that make a file an add-on manifest.
    public static let extensions = [".yaml", ".yaml.in", ".json"]

    /// Every manifest under `directories` (relative to `workspace`), minus `exclude` globs,
    /// sorted; each must carry the add-on label. Symlinks leaving the workspace are errors.
    public static func find(
        workspace: String, directories: [String], exclude: [String]
    ) throws(ReleaseError) -> [Manifest] {
        var found: [String: Manifest] = [:]
        let filter = ReleaseConfig.Addons(dirs: directories, exclude: exclude)
        for directory in directories {
            let root = Paths.absolute(directory, relativeTo: workspace)
            for relative in try files(under: root, workspace: workspace) {
                let pathInWorkspace = directory + "/" + relative
                guard extensions.contains(where: { relative.hasSuffix($0) }) else { continue }
                guard !filter.excludes(pathInWorkspace) && !filter.excludes(relative) else { continue }
                let source = root + "/" + relative
                try AddonManifestCheck.check(source, displayPath: pathInWorkspace)
                if let other = found[relative] {
                    throw .conflict(
                        "add-on manifests \(other.source) and \(source) would both be addons/\(relative)")
                }
                found[relative] = Manifest(source: source, relativePath: relative)
            }
        }
        return found.values.sorted { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
    }

    /// Regular files under `root`, relative and sorted; symlinks followed only while they stay in `workspace`.
    static func files(under root: String, workspace: String) throws(ReleaseError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingInput(path: root, what: "add-ons directory (addons.dirs in the release config)")
        }
        let realWorkspace = realPath(workspace)
        var result: [String] = []
        func walk(_ directory: String, _ relative: String) throws(ReleaseError) {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            for name in names {
                let path = directory + "/" + name
                let inside = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFLNK {
                    let resolved = realPath(path)
                    guard resolved == realWorkspace || resolved.hasPrefix(realWorkspace + "/") else {
                        throw .unsafeInput(path: path, reason: outsideReason(resolved))
                    }
                    guard stat(path, &info) == 0 else { continue }
                }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: try walk(path, inside)
                case S_IFREG: result.append(inside)
                default: continue
                }
            }
        }
        try walk(root, "")
        return result
    }

    /// Why a symlink leaving the workspace is refused, and what is allowed instead.
    static func outsideReason(_ resolved: String) -> String {
        "symlink points outside the workspace, to \(resolved); only symlinks that stay inside the workspace are followed"
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
