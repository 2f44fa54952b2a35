import Foundation

/// What identifies one version of a file without reading it (git's index does the same): size, mtime and
/// ctime in nanoseconds, inode, device and mode. Rewriting a file — in place or by renaming a new one over
/// it — changes it; so does `touch`, and a change of mode. Nobody can set ctime back, so a file edited to the
/// same size and mtime still shows. One encoding for every cache that trusts unchanged files.
public struct FileSignature: Codable, Hashable, Sendable {
    public var size: Int64
    public var mtime: Int64
    public var ctime: Int64
    public var inode: UInt64
    public var device: UInt64
    public var mode: UInt32

    public init(_ info: stat) {
        size = Int64(info.st_size)
        mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        ctime = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        inode = UInt64(info.st_ino)
        device = UInt64(info.st_dev)
        mode = UInt32(info.st_mode)
    }

    public init(size: Int64, mtime: Int64, ctime: Int64, inode: UInt64, device: UInt64, mode: UInt32) {
        (self.size, self.mtime, self.ctime, self.inode, self.device, self.mode) = (
            size, mtime, ctime, inode, device, mode
        )
    }

    /// The signature of what `path` names (symlinks followed), or nil when it cannot be stat'ed.
    public init?(of path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    /// The signature of a file kbuild wrote itself and may hard-link elsewhere (stage links built
    /// binaries into the tree it packs): a new link changes the ctime, not the file, so ctime is left out.
    public static func ofOutput(_ path: String) -> FileSignature? {
        FileSignature(of: path).map { signature in
            var signature = signature
            signature.ctime = 0
            return signature
        }
    }

    /// One line of text, for records kept as text.
    public var line: String { "\(size)/\(mtime)/\(ctime)/\(inode)/\(device)/\(String(mode, radix: 8))" }
}
