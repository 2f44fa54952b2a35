import CSyscall
import Foundation

/// A directory kbuild did not write (a release directory, a shard, a repository's `release/`): its files are
/// opened beneath it only, through no symlink, and never block. On Linux that is `openat2` with
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`; where the kernel lacks it (or a seccomp filter refuses it), one
/// `openat(O_NOFOLLOW)` per component. Every open is `O_NONBLOCK` and checked with `fstat`, so a FIFO or
/// a device in place of a file is named, not read: "…/x.tar.gz: is a FIFO".
public struct Beneath: Sendable {
    /// The directory (absolute, or relative to the current directory); it may itself be reached through
    /// a symlink: the user named it.
    public let root: String

    /// Whether `openat2` is tried first (tests turn it off to exercise the per-component fallback).
    var openat2 = true

    public init(_ root: String) { self.root = root }

    /// `root/relative`, for messages.
    public func path(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    /// Opens the regular file `relative` ("a/b/c") for reading.
    public func open(_ relative: String) throws(UnsafeInput) -> OpenFile {
        let fd = try openFD(relative, flags: O_RDONLY)
        return OpenFile(fd: fd, path: path(relative))
    }

    /// The bytes of the regular file `relative`, at most `limit` of them.
    public func read(_ relative: String, limit: Int) throws(UnsafeInput) -> Data {
        try open(relative).readAll(limit: limit)
    }

    /// The entries of the directory `relative` ("" for the root), sorted by bytes, with what each is;
    /// symlinks are reported as symlinks, never followed.
    public func list(_ relative: String = "") throws(UnsafeInput) -> [Entry] {
        let fd = try openFD(relative, flags: O_RDONLY | O_DIRECTORY)
        guard let stream = fdopendir(fd) else {
            close(fd)
            throw UnsafeInput(path: path(relative), reason: "cannot list: " + String(cString: strerror(errno)))
        }
        defer { closedir(stream) }
        var entries: [Entry] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            entries.append(Entry(name: name, mode: info.st_mode))
        }
        return entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// Every regular file below the directory `relative`, as paths relative to it, sorted; a symlink, a FIFO,
    /// a device or a socket anywhere below is an error naming it.
    public func files(under relative: String = "") throws(UnsafeInput) -> [String] {
        var found: [String] = []
        for entry in try list(relative) {
            let inside = relative.isEmpty ? entry.name : relative + "/" + entry.name
            switch entry.mode & S_IFMT {
            case S_IFREG: found.append(entry.name)
            case S_IFDIR: found += try files(under: inside).map { entry.name + "/" + $0 }
            default: throw UnsafeInput(path: path(inside), reason: describe(inside))
            }
        }
        return found.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Creates the directories of `relative` that are missing, refusing any component that is a symlink or
    /// not a directory (a `release/` symlink pointing out of a repository is not written through).
    public func makeDirectories(_ relative: String) throws(UnsafeInput) {
        var done = ""
        for component in try Self.components(relative, root: root) {
            done = done.isEmpty ? component : done + "/" + component
            if mkdir(path(done), 0o755) != 0 && errno != EEXIST {
                throw UnsafeInput(path: path(done), reason: String(cString: strerror(errno)))
            }
            close(try openFD(done, flags: O_RDONLY | O_DIRECTORY))
        }
    }

    /// What `relative` is, in words: "is a FIFO", "is a symlink to /etc/passwd", "is a directory", "does not
    /// exist", or the first symlink on its way ("goes through a/b, a symlink to /x").
    public func describe(_ relative: String) -> String {
        var walked = ""
        let parts = relative.split(separator: "/").map(String.init)
        for (index, part) in parts.enumerated() {
            walked = walked.isEmpty ? part : walked + "/" + part
            var info = stat()
            guard lstat(path(walked), &info) == 0 else {
                return index == parts.count - 1 ? "does not exist" : "goes through \(walked), which does not exist"
            }
            let what =
                info.st_mode & S_IFMT == S_IFLNK
                ? "a symlink to " + Escaping.oneLine(Self.linkTarget(path(walked)))
                : FileKind.describe(mode: info.st_mode)
            if index == parts.count - 1 { return "is " + what }
            if info.st_mode & S_IFMT != S_IFDIR { return "goes through \(walked), \(what)" }
        }
        return "is a directory"
    }

    /// One entry of a listing.
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var mode: mode_t
        public var isRegularFile: Bool { mode & S_IFMT == S_IFREG }
        public var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
    }

    /// Opens `relative` with `flags` (plus O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC) and checks what it is:
    /// a regular file, or a directory when `flags` has O_DIRECTORY.
    private func openFD(_ relative: String, flags: Int32) throws(UnsafeInput) -> Int32 {
        let parts = try Self.components(relative, root: root)
        let all = flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY
        let top = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard top >= 0 else { throw UnsafeInput(path: root, reason: Self.reason(errno, root)) }
        defer { close(top) }
        var fd: Int32 = parts.isEmpty ? dup(top) : -1
        if !parts.isEmpty && !openat2 {
            fd = Self.openEachComponent(top, parts, flags: all)
        } else if !parts.isEmpty {
            let resolve = UInt64(KBUILD_RESOLVE_BENEATH | KBUILD_RESOLVE_NO_SYMLINKS)
            fd = kbuild_openat2(top, parts.joined(separator: "/"), UInt64(all), 0, resolve)
            if fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG) {
                fd = Self.openEachComponent(top, parts, flags: all)
            }
        }
        guard fd >= 0 else {
            let code = errno
            throw UnsafeInput(path: path(relative), reason: code == ENOENT ? "does not exist" : describe(relative))
        }
        var info = stat()
        let wanted: mode_t = flags & O_DIRECTORY != 0 ? S_IFDIR : S_IFREG
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == wanted else {
            close(fd)
            throw UnsafeInput(path: path(relative), reason: "is " + FileKind.describe(mode: info.st_mode))
        }
        // Reads of a regular file never block anyway; clear the flag so nothing downstream sees EAGAIN.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// The fallback of kernels without openat2: one O_NOFOLLOW open per component.
    private static func openEachComponent(_ top: Int32, _ parts: [String], flags: Int32) -> Int32 {
        var current = dup(top)
        for (index, part) in parts.enumerated() {
            guard current >= 0 else { return -1 }
            let last = index == parts.count - 1
            let next = openat(current, part, last ? flags : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(current)
            errno = code
            current = next
        }
        return current
    }

    /// The components of `relative`, refusing absolute paths, `..` and `.` (nothing climbs out).
    private static func components(_ relative: String, root: String) throws(UnsafeInput) -> [String] {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if relative.hasPrefix("/") || parts.contains("..") || parts.contains(".") {
            throw UnsafeInput(
                path: relative, reason: "is not a plain relative path beneath \(root) (no /, . or .. components)")
        }
        return parts
    }

    private static func reason(_ code: Int32, _ path: String) -> String {
        code == ENOENT ? "does not exist" : String(cString: strerror(code))
    }

    static func linkTarget(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        return count < 0 ? "?" : String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A regular file opened by `Beneath`; closed on deinit.
public final class OpenFile: @unchecked Sendable {
    public let fd: Int32
    /// Its path, for messages.
    public let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// A path that opens this very file again (`/proc/self/fd/N`, a magic link to the inode already checked,
    /// never to whatever the name points at now), for APIs that take a path; valid while this is alive.
    public var reopenPath: String { "/proc/self/fd/\(fd)" }

    /// Its size, from fstat.
    public var size: Int64 {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int64(info.st_size) : -1
    }

    /// Copies every byte from the start into a new file `target` (created, never followed if it exists) with
    /// `mode`; the copy is of this inode, whatever the name points at meanwhile.
    public func copy(to target: String, mode: mode_t) throws(FileOutputError) {
        let out = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard out >= 0 else { throw FileOutputError(path: target, operation: "create", errno: errno) }
        defer { close(out) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let count = pread(fd, &buffer, buffer.count, offset)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FileOutputError(path: path, operation: "read", errno: errno) }
            if count == 0 { break }
            let failed = buffer.withUnsafeBytes {
                FileDescriptorIO.writeAll(out, UnsafeRawBufferPointer(rebasing: $0[..<count]))
            }
            if let failed { throw FileOutputError(path: target, operation: "write", errno: failed) }
            offset += off_t(count)
        }
        guard fchmod(out, mode) == 0 else { throw FileOutputError(path: target, operation: "chmod", errno: errno) }
    }

    /// Every byte, at most `limit`: more is an error saying so.
    public func readAll(limit: Int) throws(UnsafeInput) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = Foundation.read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw UnsafeInput(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { return data }
            data.append(contentsOf: buffer[..<count])
            guard data.count <= limit else { throw UnsafeInput(path: path, reason: "is larger than \(limit) bytes") }
        }
    }
}

/// Why a path beneath a directory kbuild does not own was refused: "<path>: is a FIFO".
public struct UnsafeInput: Error, Equatable, CustomStringConvertible {
    public var path: String
    /// "is a FIFO", "is a symlink to /etc/passwd", "is a directory", "does not exist", …
    public var reason: String
    public var description: String { "\(Escaping.oneLine(path)): \(reason)" }

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}
