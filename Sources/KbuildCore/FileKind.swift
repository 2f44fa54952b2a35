import Foundation

/// What a path is: a value callers compare, and in words for error messages ("a directory", "a FIFO", …).
public enum FileKind: Sendable, Hashable, CustomStringConvertible {
    case regularFile, directory, fifo, characterDevice, blockDevice, socket, symlink
    /// A type `stat` reports that none of the above is.
    case other

    /// The kind of an `st_mode`.
    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regularFile
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symlink
        default: self = .other
        }
    }

    /// "a regular file", "a directory", …: what a message says the path is.
    public var description: String {
        switch self {
        case .regularFile: "a regular file"
        case .directory: "a directory"
        case .fifo: "a FIFO"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .socket: "a socket"
        case .symlink: "a symlink"
        case .other: "not a regular file"
        }
    }

    /// The kind of what `path` names (symlinks followed); nil with `errno`'s reason when it cannot be
    /// examined (no such file, permission denied).
    public static func of(_ path: String) -> (kind: FileKind?, reason: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return (nil, String(cString: strerror(errno))) }
        return (FileKind(mode: info.st_mode), "")
    }

    /// "a regular file", "a directory", … for an `st_mode`.
    public static func describe(mode: mode_t) -> String { FileKind(mode: mode).description }

    /// The bytes of the regular file at `path`, at most `limit` of them. Opened with O_NONBLOCK and
    /// checked with fstat before any read, so a FIFO or a device never blocks or streams forever.
    /// Throws the reason (what the path is, or the system's error) as text.
    public static func readRegularFile(_ path: String, limit: Int) throws(FileKindError) -> Data {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileKindError(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileKindError(reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw FileKindError(reason: "is " + describe(mode: info.st_mode))
        }
        guard info.st_size <= limit else { throw FileKindError(reason: "is larger than \(limit) bytes") }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileKindError(reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            data.append(contentsOf: buffer[..<count])
            guard data.count <= limit else { throw FileKindError(reason: "is larger than \(limit) bytes") }
        }
        return data
    }
}

/// Why `FileKind.readRegularFile` could not read a file.
public struct FileKindError: Error, Equatable, CustomStringConvertible {
    /// "is a FIFO", "No such file or directory", …
    public var reason: String
    public var description: String { reason }
}
