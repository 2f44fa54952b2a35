import Foundation
import KbuildCore
import KbuildDigest
import KbuildRemote

/// Content-addressed records of earlier outputs under `_output/cache`, so that a release with nothing
/// changed reuses its builds, images and tarballs.
///
/// A record maps a key to the outputs it produced and their stat signatures (size, mtime, inode). The
/// key is the sha256 of the canonical JSON of a `Codable` value that holds exactly what the outputs
/// depend on (content digests, the plan's digest, tool versions, flags), one struct per kind of work:
/// `BuildStep.Inputs`, `ImagesStep.Inputs`, and for the package phase `PackageInputs` of every step's
/// `Inputs`. A hit needs the record and every output unchanged since it was written; anything else
/// redoes the work.
///
/// With a `remote` cache, a local miss of a step in `RemoteCache.sharedSteps` asks the remote (and a
/// hit is then recorded locally); what such a step records is also uploaded (see RemoteCacheStore.swift).
struct OutputCache: Sendable {
    /// Bump when what a key covers changes, so old records stop matching (v2: keys from values).
    static let format = "kbuild-cache-v2"

    let directory: String
    /// The shared cache, and the workspace its output paths are relative to.
    var remote: (cache: RemoteCache, workspace: String)? = nil

    /// The key of `inputs` for `step`: the sha256 of the canonical JSON of both and the format.
    static func key(_ step: CacheStep, _ inputs: some Encodable) throws -> String {
        try CanonicalJSON.sha256(KeyedInputs(format: format, step: step, inputs: inputs))
    }

    private struct KeyedInputs<Inputs: Encodable>: Encodable {
        var format: String
        var step: CacheStep
        var inputs: Inputs
    }

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
    func lookup(_ step: CacheStep, key: String, outputs: [String]) async -> Data? {
        if let payload = lookupLocally(step, key: key, outputs: outputs) { return payload }
        return await lookupRemotely(step, key: key, outputs: outputs)
    }

    func lookupLocally(_ step: CacheStep, key: String, outputs: [String]) -> Data? {
        guard let data = FileManager.default.contents(atPath: recordPath(step, key)),
            let record = try? JSONDecoder().decode(Record.self, from: data),
            Set(record.outputs.keys) == Set(outputs),
            outputs.allSatisfy({ path in FileSignature.ofOutput(path).map { $0 == record.outputs[path] } ?? false })
        else { return nil }
        return record.payload
    }

    /// Records that `key` produced `outputs` as they are now. A failure to record only costs a redo.
    func record(_ step: CacheStep, key: String, outputs: [String], payload: Data = Data()) async {
        recordLocally(step, key: key, outputs: outputs, payload: payload)
        await upload(step, key: key, outputs: outputs, payload: payload)
    }

    func recordLocally(_ step: CacheStep, key: String, outputs: [String], payload: Data) {
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

    private func recordPath(_ step: CacheStep, _ key: String) -> String {
        "\(directory)/\(step.rawValue)/\(key).json"
    }
}

/// The kinds of cached work, one record directory each under `_output/cache` (leftovers are cleaned there too).
enum CacheStep: String, Codable, Sendable, CaseIterable {
    /// One binary of one platform (`BuildStep`).
    case build
    /// One image tarball (`ImagesStep`).
    case image
    /// `release-stage` and `release-tars` together (the package steps).
    case package
}

/// One piece of cached work as a step declares it: the key of everything its outputs depend on, and the outputs.
struct CacheUnit: Sendable, Hashable {
    var step: CacheStep
    /// `OutputCache.key` of the step's inputs value.
    var key: String
    /// Absolute paths of what the work writes.
    var outputs: [String]

    init(step: CacheStep, inputs: some Encodable, outputs: [String]) throws {
        self.step = step
        self.key = try OutputCache.key(step, inputs)
        self.outputs = outputs
    }
}
