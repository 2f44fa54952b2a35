import Foundation
import KbuildConfig
import KbuildCore

/// Finds the add-on manifests of a workspace and checks the cluster add-on label on each.
public enum AddonManifests {
    /// One manifest: where it is and where it goes (relative to its add-ons directory).
    public struct Manifest: Sendable, Hashable {
        public var source: String
        public var relativePath: String
        /// The directory of `addons.dirs` it was found under, as configured.
        public var directory: String
        public var executable: Bool
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
            for file in try listed(under: root, workspace: workspace) {
                let relative = file.path
                let pathInWorkspace = directory + "/" + relative
                guard extensions.contains(where: { relative.hasSuffix($0) }) else { continue }
                guard !filter.excludes(pathInWorkspace) && !filter.excludes(relative) else { continue }
                let source = root + "/" + relative
                try AddonManifestCheck.check(source, displayPath: pathInWorkspace)
                if let other = found[relative] {
                    throw .conflict(
                        "add-on manifests \(other.source) and \(source) would both be addons/\(relative)")
                }
                found[relative] = Manifest(
                    source: source, relativePath: relative, directory: directory, executable: file.executable)
            }
        }
        return found.values.sorted { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
    }

    /// Regular files under `root`, relative and sorted; symlinks followed only while they stay in `workspace`.
    static func files(under root: String, workspace: String) throws(ReleaseError) -> [String] {
        try listed(under: root, workspace: workspace).map(\.path)
    }

    /// The same, with each file's executable bit.
    static func listed(under root: String, workspace: String) throws(ReleaseError) -> [WorkspaceTree.File] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingInput(path: root, what: "add-ons directory (addons.dirs in the release config)")
        }
        return try WorkspaceTree.files(of: root, workspace: workspace)
    }
}
