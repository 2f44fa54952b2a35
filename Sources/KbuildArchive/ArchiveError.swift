import CArchive

/// Everything that can go wrong reading or writing an archive.
public enum ArchiveError: Error, CustomStringConvertible, Equatable {
    /// A libarchive call failed; carries libarchive's own message.
    case library(operation: String, path: String, message: String)
    /// A source or destination file could not be read or written.
    case io(path: String, reason: String)
    /// An entry that would land outside the root, or is otherwise unsafe to unpack.
    case unsafeEntry(archive: String, entry: String, reason: String)
    /// Two entries with one path.
    case duplicateEntry(archive: String, entry: String)
    /// The archive ended early or is not a tar.
    case corrupt(archive: String, reason: String)
    /// A zip that is truncated, inconsistent or unsafe to trust (read by `ZipReader`).
    case corruptZip(archive: String, reason: String)
    /// A zip that would need zip64 (a member or the archive of 4 GiB or more, 65,535 entries or more).
    case zip64Required(path: String, reason: String)
    /// A compression level the chosen compressor does not have.
    case invalidLevel(path: String, level: Int, allowed: String)

    public var description: String {
        switch self {
        case .library(let operation, let path, let message):
            return "\(path): \(operation) failed: \(message)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .unsafeEntry(let archive, let entry, let reason):
            return "\(archive): unsafe entry '\(entry)': \(reason)"
        case .duplicateEntry(let archive, let entry):
            return "\(archive): entry '\(entry)' is added twice"
        case .corrupt(let archive, let reason):
            return "\(archive): not a readable tar archive: \(reason)"
        case .corruptZip(let archive, let reason):
            return "\(archive): not a readable zip archive: \(reason)"
        case .zip64Required(let path, let reason):
            return "\(path): \(reason)"
        case .invalidLevel(let path, let level, let allowed):
            return "\(path): compression level \(level) is not supported; allowed: \(allowed)"
        }
    }
}

extension CInt {
    /// Turns a libarchive status into a throw carrying `archive_error_string`.
    func check(_ archive: OpaquePointer, _ operation: String, _ path: String) throws(ArchiveError) {
        guard self < ARCHIVE_WARN else { return }  // ARCHIVE_OK (0) and ARCHIVE_WARN (-20) pass.
        throw .library(operation: operation, path: path, message: archive.errorMessage)
    }
}

extension Int {
    func check(_ archive: OpaquePointer, _ operation: String, _ path: String) throws(ArchiveError) {
        guard self < 0 else { return }
        throw .library(operation: operation, path: path, message: archive.errorMessage)
    }
}

extension OpaquePointer {
    var errorMessage: String {
        archive_error_string(self).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
