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
        // A package key has a part per tracked file (tens of thousands): `ofParts` batches them.
        Digest.ofParts([format] + parts, .sha256).hex
    }

    /// The steps that keep records, one directory each (leftovers are cleaned there too).
    static let steps = ["build", "image", "package"]

    /// The payload recorded for `unit` when its outputs are unchanged since; nil otherwise.
    func lookup(_ unit: CacheUnit) async -> Data? {
        await lookup(unit.step, key: unit.key, outputs: unit.outputs)
    }

    /// Records that `unit` produced its outputs as they are now.
    func record(_ unit: CacheUnit, payload: Data = Data()) async {
        await record(unit.step, key: unit.key, outputs: unit.outputs, payload: payload)
    }

    /// What a record holds: the outputs' signatures and what the step returned.
    private struct Record: Codable {
        var outputs: [String: FileSignature]
        var payload: Data
    }

    /// The payload recorded for `key` when the record names exactly these outputs and none of them
    /// changed since; nil otherwise.
    func lookup(_ step: String, key: String, outputs: [String]) async -> Data? {
        if let payload = lookupLocally(step, key: key, outputs: outputs) { return payload }
        return await lookupRemotely(step, key: key, outputs: outputs)
    }

    func lookupLocally(_ step: String, key: String, outputs: [String]) -> Data? {
        guard let data = FileManager.default.contents(atPath: recordPath(step, key)),
            let record = try? JSONDecoder().decode(Record.self, from: data),
            Set(record.outputs.keys) == Set(outputs),
            outputs.allSatisfy({ path in FileSignature.ofOutput(path).map { $0 == record.outputs[path] } ?? false })
        else { return nil }
        return record.payload
    }

    /// Records that `key` produced `outputs` as they are now. A failure to record only costs a redo.
    func record(_ step: String, key: String, outputs: [String], payload: Data = Data()) async {
        recordLocally(step, key: key, outputs: outputs, payload: payload)
        await upload(step, key: key, outputs: outputs, payload: payload)
    }

    func recordLocally(_ step: String, key: String, outputs: [String], payload: Data) {
        var signatures: [String: FileSignature] = [:]
        for path in outputs {
            guard let signature = FileSignature.ofOutput(path) else { return }
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

/// One piece of cached work as a step declares it: everything its outputs depend on, and the outputs.
struct CacheUnit: Sendable, Hashable {
    /// The step (and record directory): build, image, package.
    var step: String
    /// Stable text of every input: content digests, versions, flags, the plan.
    var inputs: [String]
    /// Absolute paths of what the work writes.
    var outputs: [String]

    var key: String { OutputCache.key([step] + inputs) }
}
