import Foundation
import KbuildDigest

/// The test oracle of `SourceIndex`: the content digest of a workspace's sources computed the slow,
/// obvious way — every regular file and symlink outside `_output` and `.git`, by path and content, each
/// read every time. The index must say byte for byte the same after any edit, addition or removal.
enum WorkspaceDigest {
    static func compute(_ workspace: String) throws -> String {
        var hasher = Digest.Hasher(.sha256)
        func walk(_ directory: String, _ relative: String, _ hasher: inout Digest.Hasher) throws {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for name in names {
                let inside = relative.isEmpty ? name : relative + "/" + name
                if relative.isEmpty && (name == "_output" || name == ".git") { continue }
                let path = directory + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    try walk(path, inside, &hasher)
                case S_IFREG:
                    let digest = try Digest.file(path, .sha256).hex
                    let executable = info.st_mode & 0o111 != 0 ? "x" : "-"
                    hasher.update(Data("f \(inside)\0\(executable)\(digest)\n".utf8))
                case S_IFLNK:
                    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
                    hasher.update(Data("l \(inside)\0\(target)\n".utf8))
                default:
                    continue
                }
            }
        }
        try walk(workspace, "", &hasher)
        return hasher.finalize().hex
    }
}
