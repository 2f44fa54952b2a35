import Foundation

/// Writing outputs so that a reader never sees a half-written file under its final name.
public enum FileOutput {
    /// A unique sibling path of `path` for writing before the rename.
    public static func temporarySibling(of path: String) -> String {
        let directory = Paths.parent(of: path)
        return (directory.isEmpty ? "." : directory)
            + "/.\(Paths.name(of: path)).kbuild-tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
    }

    /// Writes `data` to a temporary sibling, fsyncs it (unless `durable` is false: bookkeeping whose loss
    /// only costs redoing work) and renames it onto `path`.
    public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o644, durable: Bool = true)
        throws
    {
        try FileManager.default.createDirectory(
            atPath: Paths.parent(of: path), withIntermediateDirectories: true)
        let temporary = temporarySibling(of: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileOutputError(path: path, operation: "create", errno: errno) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(temporary) }
        }
        if let error = data.withUnsafeBytes({ FileDescriptorIO.writeAll(fd, $0) }) {
            throw FileOutputError(path: path, operation: "write", errno: error)
        }
        guard fchmod(fd, mode) == 0 else { throw FileOutputError(path: path, operation: "chmod", errno: errno) }
        if durable {
            guard fsync(fd) == 0 else { throw FileOutputError(path: path, operation: "sync", errno: errno) }
        }
        guard rename(temporary, path) == 0 else {
            throw FileOutputError(path: path, operation: "rename into place", errno: errno)
        }
        ok = true
    }

    /// Writes `text` as UTF-8, atomically.
    public static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try writeAtomically(Data(text.utf8), to: path, mode: mode)
    }

    /// Replaces the directory `target` with the fully written directory `staged`.
    /// The old target is moved aside first and removed only after the new one is in place.
    public static func replaceDirectory(_ target: String, with staged: String) throws {
        let fm = FileManager.default
        // One atomic swap where the kernel offers it: no instant without `target`, even under SIGKILL.
        if let renameat2 = Self.renameat2, renameat2(AT_FDCWD, staged, AT_FDCWD, target, renameExchange) == 0 {
            try? fm.removeItem(atPath: staged)  // now the old directory
            return
        }
        var previous: String?
        if fm.fileExists(atPath: target) {
            let aside = temporarySibling(of: target) + ".old"
            guard rename(target, aside) == 0 else {
                throw FileOutputError(path: target, operation: "move aside", errno: errno)
            }
            previous = aside
        }
        guard rename(staged, target) == 0 else {
            let code = errno
            if let previous { rename(previous, target) }
            throw FileOutputError(path: target, operation: "rename into place", errno: code)
        }
        if let previous { try? fm.removeItem(atPath: previous) }
    }

    /// glibc's renameat2, looked up at run time (Swift's Glibc module does not declare it).
    private typealias RenameAt2 =
        @convention(c) (CInt, UnsafePointer<CChar>, CInt, UnsafePointer<CChar>, CUnsignedInt) -> CInt
    private static let renameat2: RenameAt2? = dlsym(nil, "renameat2").map { unsafeBitCast($0, to: RenameAt2.self) }
    /// RENAME_EXCHANGE from <linux/fs.h>.
    private static let renameExchange: CUnsignedInt = 1 << 1

    /// Removes leftovers (`.<name>.kbuild-tmp-*`) of earlier interrupted runs in `directory`.
    public static func removeLeftovers(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(".") && name.contains(".kbuild-tmp-") {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }
}

/// A file system operation on an output failed.
public struct FileOutputError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var operation: String
    public var errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(errno)))"
    }
}

/// Path string helpers. (NSString's path methods crash in this Foundation on some inputs; don't use them.)
public enum Paths {
    /// The directory part: `a/b` for `a/b/c`, `/` for `/a`, empty for `a`.
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component: `c` for `a/b/c`.
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// `path` made absolute against `directory` (no symlink resolution).
    public static func absolute(_ path: String, relativeTo directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }

    /// A path a user gave (a workspace, a release directory, a config file) made absolute against the
    /// current directory, `.` and `..` resolved, no trailing slash (no symlink resolution).
    public static func absolute(_ path: String) -> String {
        var absolute = absolute(path, relativeTo: FileManager.default.currentDirectoryPath)
        while absolute.count > 1 && absolute.hasSuffix("/") { absolute.removeLast() }
        return URL(fileURLWithPath: absolute).standardizedFileURL.path
    }

    /// The part of `path` below `root`, or nil when `path` is not inside `root`.
    public static func inside(_ path: String, _ root: String) -> String? {
        guard path.hasPrefix(root + "/"), path.count > root.count + 1 else { return nil }
        return String(path.dropFirst(root.count + 1))
    }
}

/// Writing whole buffers to a file descriptor, retrying short writes and EINTR.
public enum FileDescriptorIO {
    /// Writes every byte of `bytes` to `fd`; the errno of the failure, or nil.
    public static func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard let base = bytes.baseAddress else { return nil }
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(fd, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }
}
