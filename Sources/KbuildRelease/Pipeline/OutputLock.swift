import Foundation
import KbuildCore

/// An exclusive lock on one `_output` so two releases never interleave.
/// Held by an open file descriptor: the kernel drops it when the process dies, even by SIGKILL.
public final class OutputLock: Sendable {
    private let fd: CInt
    public let path: String

    /// Takes the lock or throws `ReleaseError.locked` naming the holder.
    public init(path: String) throws(ReleaseError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: Paths.parent(of: path), withIntermediateDirectories: true)
        } catch {
            throw .io(path: Paths.parent(of: path), reason: "cannot create directory: \(Escaping.reason(of: error))")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open lock: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder =
                (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw .locked(path: path, holder: holder.isEmpty ? "unknown process" : holder)
        }
        // Who holds the lock, for the message a second run prints; the lock itself is the flock.
        let note = Array("pid \(getpid())\n".utf8)
        let failed: Int32? = ftruncate(fd, 0) != 0 ? errno : note.withUnsafeBytes { FileDescriptorIO.writeAll(fd, $0) }
        if let failed {
            close(fd)
            throw .io(path: path, reason: "cannot write the lock holder: \(String(cString: strerror(failed)))")
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
