import Foundation
import KbuildCore
import KbuildDigest
import KbuildRemote

/// Content-addressed records of earlier outputs under `_output/cache`, so that a release with nothing
/// changed reuses its builds, images and tarballs.
///
/// A record maps a key (the sha256 of every input of a step: content digests, version, config, tool
/// versions) to the outputs it produced and their stat signatures (size, mtime, inode). A hit needs
/// the record and every output unchanged since it was written; anything else redoes the step.
///
/// With a `remote` cache, a local miss of a step in `RemoteCache.sharedSteps` asks the remote (and a
/// hit is then recorded locally); what such a step records is also uploaded (see RemoteCacheStore.swift).
struct OutputCache: Sendable {
    /// Bump when what a key covers changes, so old records stop matching.
    static let format = "kbuild-cache-v1"

    let directory: String
    /// The shared cache, and the workspace its output paths are relative to.
    var remote: (cache: RemoteCache, workspace: String)? = nil

    /// The key of a step: sha256 over the format and `parts`, each length-prefixed.
    static func key(_ parts: [String]) -> String {
        var hasher = Digest.Hasher([.sha256])
        for part in [format] + parts {
            hasher.update(Data("\(part.utf8.count):".utf8))
            hasher.update(Data(part.utf8))
        }
        return hasher.finalize()[.sha256]!.hex
    }

    /// What a record holds: the outputs' signatures and what the step returned.
    private struct Record: Codable {
        var outputs: [String: StatSignature]
        var payload: Data
    }

    /// The payload recorded for `key` when the record names exactly these outputs and none of them
    /// changed since; nil otherwise.
    func lookup(_ step: String, key: String, outputs: [String]) -> Data? {
        if let payload = lookupLocally(step, key: key, outputs: outputs) { return payload }
        return lookupRemotely(step, key: key, outputs: outputs)
    }

    func lookupLocally(_ step: String, key: String, outputs: [String]) -> Data? {
        guard let data = FileManager.default.contents(atPath: recordPath(step, key)),
            let record = try? JSONDecoder().decode(Record.self, from: data),
            Set(record.outputs.keys) == Set(outputs),
            outputs.allSatisfy({ path in StatSignature(of: path).map { $0 == record.outputs[path] } ?? false })
        else { return nil }
        return record.payload
    }

    /// Records that `key` produced `outputs` as they are now. A failure to record only costs a redo.
    func record(_ step: String, key: String, outputs: [String], payload: Data = Data()) {
        recordLocally(step, key: key, outputs: outputs, payload: payload)
        upload(step, key: key, outputs: outputs, payload: payload)
    }

    func recordLocally(_ step: String, key: String, outputs: [String], payload: Data) {
        var signatures: [String: StatSignature] = [:]
        for path in outputs {
            guard let signature = StatSignature(of: path) else { return }
            signatures[path] = signature
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(Record(outputs: signatures, payload: payload)) else { return }
        // No fsync: a record lost in a crash only costs a rebuild, and 17 syncs would cost a build's worth.
        try? FileOutput.writeAtomically(data, to: recordPath(step, key), durable: false)
    }

    private func recordPath(_ step: String, _ key: String) -> String {
        "\(directory)/\(step)/\(key).json"
    }
}

/// What identifies one version of a file without reading it: a rewrite (rename into place) changes it.
struct StatSignature: Codable, Hashable, Sendable {
    var size: Int64
    var mtimeSeconds: Int64
    var mtimeNanoseconds: Int64
    var inode: UInt64
    var device: UInt64

    init?(of path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        size = Int64(info.st_size)
        mtimeSeconds = Int64(info.st_mtim.tv_sec)
        mtimeNanoseconds = Int64(info.st_mtim.tv_nsec)
        inode = UInt64(info.st_ino)
        device = UInt64(info.st_dev)
    }

    /// One line, for keys of steps that consume the file.
    var line: String { "\(size)/\(mtimeSeconds).\(mtimeNanoseconds)/\(inode)/\(device)" }
}

/// The content digest of a workspace's sources: every regular file and symlink outside `_output` and
/// `.git`, by path and content. Any edit, addition or removal changes it.
enum WorkspaceDigest {
    static func compute(_ workspace: String) throws -> String {
        var hasher = Digest.Hasher([.sha256])
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
                    let digest = try Digest.file(path, [.sha256])[.sha256]!.hex
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
        return hasher.finalize()[.sha256]!.hex
    }
}
