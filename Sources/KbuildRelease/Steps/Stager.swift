import Foundation
import KbuildCore

/// Puts files into `_output/release-stage` in the Kubernetes layout. Files are hard-linked
/// (copied across file systems); the tarballs are packed from the stage.
struct Stager {
    let root: String

    /// Makes `source` available at `root/relative`.
    func place(_ source: String, at relative: String) throws(ReleaseError) {
        // link() would link a symlink itself; stage what it points at (callers checked it stays inside).
        let source = AddonManifests.realPath(source)
        let destination = root + "/" + relative
        try makeDirectory(Paths.parent(of: destination))
        unlink(destination)
        if link(source, destination) == 0 { return }
        let linkError = errno
        guard linkError == EXDEV else {
            throw .io(path: source, reason: "cannot stage as \(destination): \(String(cString: strerror(linkError)))")
        }
        // Another file system: copy.
        do {
            try FileManager.default.copyItem(atPath: source, toPath: destination)
        } catch {
            throw .io(path: source, reason: "cannot copy to \(destination) (another file system)")
        }
    }

    /// Writes `text` at `root/relative`.
    func write(_ text: String, at relative: String) throws(ReleaseError) {
        let destination = root + "/" + relative
        try makeDirectory(Paths.parent(of: destination))
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: destination))
        } catch {
            throw .io(path: destination, reason: "cannot write: \(Escaping.reason(of: error))")
        }
    }

    /// Places a whole directory (or file) tree: regular files linked, symlinks followed while they stay inside.
    func placeTree(_ source: String, at relative: String, workspace: String) throws(ReleaseError) {
        var info = stat()
        guard lstat(source, &info) == 0 else {
            throw .missingInput(path: source, what: "file or directory (full.include in the release config)")
        }
        if info.st_mode & S_IFMT == S_IFLNK {
            // A symlinked LICENSES or full.include entry is followed only while it stays in the workspace.
            let resolved = AddonManifests.realPath(source)
            let root = AddonManifests.realPath(workspace)
            guard resolved == root || resolved.hasPrefix(root + "/") else {
                throw .unsafeInput(path: source, reason: AddonManifests.outsideReason(resolved))
            }
            guard stat(source, &info) == 0 else {
                throw .missingInput(path: source, what: "symlink target \(resolved)")
            }
        }
        if info.st_mode & S_IFMT == S_IFREG {
            try place(source, at: relative)
            return
        }
        for file in try AddonManifests.files(under: source, workspace: workspace) {
            try place(source + "/" + file, at: relative + "/" + file)
        }
    }

    func makeDirectory(_ path: String) throws(ReleaseError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io(path: path, reason: "cannot create directory: \(Escaping.reason(of: error))")
        }
    }
}
