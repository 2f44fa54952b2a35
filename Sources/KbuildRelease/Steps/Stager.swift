import Foundation
import KbuildCore

/// Puts files into `_output/release-stage` in the Kubernetes layout. Files are hard-linked
/// (copied across file systems); the tarballs are packed from the stage.
struct Stager {
    let root: String

    /// Makes `source` available at `root/relative`.
    func place(_ source: String, at relative: String) throws(ReleaseError) {
        // link() would link a symlink itself; stage what it points at (callers checked it stays inside).
        let source = WorkspaceTree.realPath(source)
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

    /// Places the workspace file the plan lists: a symlink is followed only while it stays in the
    /// workspace, and the file must still be a regular file with the executable bit the plan saw.
    func placeFile(_ source: String, at relative: String, workspace: String, mode: UInt16?) throws(ReleaseError) {
        var info = stat()
        guard lstat(source, &info) == 0 else {
            throw .missingInput(path: source, what: "file the release plan lists (it was there when planned)")
        }
        if info.st_mode & S_IFMT == S_IFLNK {
            guard let target = try WorkspaceTree.follow(source, inside: WorkspaceTree.realPath(workspace)) else {
                throw .missingInput(path: source, what: "symlink target \(WorkspaceTree.realPath(source))")
            }
            info = target
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .unsafeInput(
                path: source, reason: "is \(FileKind(mode: info.st_mode)); the plan lists a regular file")
        }
        if let mode, (mode & 0o111 != 0) != (info.st_mode & 0o111 != 0) {
            throw .conflict(
                "\(Escaping.shown(source)) changed its executable bit after the release was planned; release again")
        }
        try place(source, at: relative)
    }

    func makeDirectory(_ path: String) throws(ReleaseError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io(path: path, reason: "cannot create directory: \(Escaping.reason(of: error))")
        }
    }
}
