import Foundation
import KbuildCore
import KbuildDigest
import Synchronization

/// A shared cache of step outputs on a Bazel HTTP remote cache, for one run: the action cache maps a
/// step's key to its outputs' digests (`ActionRecord`), the CAS holds each output by sha256.
///
/// Every blob is checked against its sha256 before it is renamed into place; a corrupt or missing one
/// is a miss (the step then runs locally and its upload repairs the server). The first network
/// failure prints one warning and turns the remote off for the rest of the run: a slow or dead
/// server costs at most one timeout, not one per key.
public final class RemoteCache: Sendable {
    public let client: RemoteCacheClient
    /// False for untrusted jobs (pull requests): read, never write.
    public let upload: Bool
    private let warn: @Sendable (String) -> Void
    private let state = Mutex(Counters())

    /// What happened during the run, for the summary line.
    public struct Counters: Sendable, Equatable {
        public var fetched = 0
        public var missed = 0
        /// Blobs that did not match their digest (ignored, rebuilt locally).
        public var corrupt = 0
        public var uploaded = 0
        /// Why the remote was turned off, if it was.
        public var failure: String?
    }

    /// `warn` receives the one warning line (without a trailing newline).
    public init(client: RemoteCacheClient, upload: Bool = true, warn: @escaping @Sendable (String) -> Void) {
        self.client = client
        self.upload = upload
        self.warn = warn
    }

    public var counters: Counters { state.withLock { $0 } }

    /// One line for the end of a run: `remote cache URL: 17 fetched, 0 missed, 0 uploaded`.
    public var summary: String {
        let c = counters
        let corrupt = c.corrupt > 0 ? ", \(c.corrupt) corrupt blob\(c.corrupt == 1 ? "" : "s") ignored" : ""
        let uploads = upload ? "\(c.uploaded) uploaded" : "uploads off"
        let off = c.failure == nil ? "" : " (off after: \(c.failure ?? ""))"
        return "remote cache \(client.base): \(c.fetched) fetched, \(c.missed) missed, \(uploads)\(corrupt)\(off)"
    }

    private var isOff: Bool { state.withLock { $0.failure != nil } }

    /// Fetches the record of `key` and places its outputs (absolute paths under `root`), each downloaded
    /// into `scratch` (a directory of kbuild's own, cleaned of leftovers at the start of each run),
    /// verified and renamed into place. Returns the step's payload, or nil on a miss or when the remote
    /// is off. A record naming paths outside the workspace or blobs over the cap turns the remote off
    /// with one warning.
    public func fetch(key: String, outputs: [String], root: String, scratch: String) async -> Data? {
        guard !isOff, let relative = Self.relative(outputs, to: root) else { return nil }
        do {
            guard let data = try await client.get("ac/" + key),
                let record = try? JSONDecoder().decode(ActionRecord.self, from: data)
            else {
                count { $0.missed += 1 }
                return nil
            }
            try check(record, key: key)
            guard record.outputFiles.map(\.path).sorted() == relative.sorted() else {
                count { $0.missed += 1 }
                return nil
            }
            for file in record.outputFiles {
                guard try await place(file, at: root + "/" + file.path, scratch: scratch) else {
                    count { $0.missed += 1 }
                    return nil
                }
            }
            count { $0.fetched += 1 }
            return record.stdoutRaw
        } catch {
            turnOff(error)
            return nil
        }
    }

    /// Refuses a record no honest server sends: a path that is absolute, empty or climbs out (`..`), a
    /// digest that is not a sha256, a size below zero or over the client's cap.
    private func check(_ record: ActionRecord, key: String) throws(RemoteCacheError) {
        let address = client.url("ac/" + key)
        for file in record.outputFiles {
            let parts = file.path.split(separator: "/", omittingEmptySubsequences: false)
            guard !file.path.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == ".." || $0 == "." }),
                !file.path.contains("\0")
            else {
                throw .refused(
                    url: address,
                    reason: "the record names an output outside the workspace: \(Escaping.shown(file.path)); refused")
            }
            guard Self.isSHA256(file.digest.hash) else {
                throw .refused(
                    url: address,
                    reason: "the record names a blob that is not a sha256: \(Escaping.shown(file.digest.hash)); refused"
                )
            }
            guard file.digest.sizeBytes >= 0, file.digest.sizeBytes <= client.maxBlobBytes else {
                throw .refused(
                    url: address,
                    reason:
                        "the record declares \(ByteCount.text(file.digest.sizeBytes)) for \(Escaping.shown(file.path)), over the \(ByteCount.text(client.maxBlobBytes)) cap (KBUILD_REMOTE_CACHE_MAX_BYTES); refused"
                )
            }
        }
    }

    /// Uploads `outputs` (absolute paths under `root`) to the CAS, then the record of `key`: a reader
    /// that finds the record finds its blobs. Rewriting what is there is harmless (same bytes).
    public func store(key: String, outputs: [String], root: String, payload: Data) async {
        guard upload, !isOff, let relative = Self.relative(outputs, to: root) else { return }
        do {
            var files: [ActionRecord.OutputFile] = []
            for (path, name) in zip(outputs, relative) {
                var info = stat()
                guard stat(path, &info) == 0 else { return }
                let digest: String
                do {
                    digest = try await Self.sha256(path)
                } catch {
                    return  // the output vanished: nothing to share
                }
                try await client.put("cas/" + digest, file: path)
                files.append(
                    ActionRecord.OutputFile(
                        path: name, digest: .init(hash: digest, sizeBytes: Int64(info.st_size)),
                        isExecutable: info.st_mode & 0o111 != 0))
            }
            let record = ActionRecord(outputFiles: files, stdoutRaw: payload)
            try await client.put("ac/" + key, data: record.encoded(), contentType: "application/json")
            count { $0.uploaded += 1 }
        } catch {
            turnOff(error)
        }
    }

    /// Downloads one blob into `scratch` (never more than its declared size), checks its sha256, sets
    /// the mode and renames it onto `target`. False when the server lacks it or it does not match; the
    /// temporary file is gone on every way out.
    private func place(_ file: ActionRecord.OutputFile, at target: String, scratch: String)
        async throws(RemoteCacheError)
        -> Bool
    {
        for directory in [scratch, Paths.parent(of: target)] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .io(path: directory, reason: "cannot create the directory")
            }
        }
        let temporary = FileOutput.temporarySibling(of: scratch + "/" + file.digest.hash)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: temporary, reason: String(cString: strerror(errno))) }
        var placed = false
        defer { if !placed { unlink(temporary) } }
        let received: Int64?
        do {
            received = try await client.download("cas/" + file.digest.hash, into: fd, size: file.digest.sizeBytes)
            close(fd)
        } catch {
            close(fd)
            throw error
        }
        guard let received else { return false }
        guard received == file.digest.sizeBytes, (try? await Self.sha256(temporary)) == file.digest.hash else {
            count { $0.corrupt += 1 }
            return false
        }
        guard chmod(temporary, file.isExecutable ? 0o755 : 0o644) == 0, rename(temporary, target) == 0 else {
            throw .io(path: target, reason: String(cString: strerror(errno)))
        }
        placed = true
        return true
    }

    private func turnOff(_ error: RemoteCacheError) {
        // The base URL leads the warning: name only the request after it.
        let why = Self.oneLine(error.description.replacingOccurrences(of: client.base + "/", with: ""))
        let first = state.withLock { counters -> Bool in
            guard counters.failure == nil else { return false }
            counters.failure = why
            return true
        }
        if first { warn("warning: remote cache \(client.base): \(why); building locally") }
    }

    private func count(_ change: (inout Counters) -> Void) {
        state.withLock { change(&$0) }
    }

    /// `paths` relative to `root`; nil if one is outside it (such an output cannot be shared).
    static func relative(_ paths: [String], to root: String) -> [String]? {
        var result: [String] = []
        for path in paths {
            guard let name = Paths.inside(path, root), !name.split(separator: "/").contains("..") else { return nil }
            result.append(name)
        }
        return result
    }

    /// A file's sha256, read on a thread of its own (a binary is tens of MB: not on Swift's pool).
    static func sha256(_ path: String) async throws -> String {
        try await Blocking.run { try Digest.file(path, .sha256).hex }
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }
}
