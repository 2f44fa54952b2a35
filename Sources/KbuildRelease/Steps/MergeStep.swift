import Foundation
import KbuildCore

/// Takes the shard directories of one release (`kbuild release --shard I/N` on other machines),
/// checks that they belong to this plan, cover it exactly once and hold what their manifests say,
/// then places their binaries and images where `kbuild build` and `kbuild images` would have.
/// Any problem names the shard and the output; nothing is placed until every shard checked out.
struct MergeStep: ReleaseStep {
    let name = StepName.merge
    let directories: [String]

    func run(_ draft: inout ReleaseDraft, in context: StepContext) async throws -> StepOutcome {
        let plan = context.plan
        let shards = try directories.map(Self.read)
        guard let count = shards.first?.manifest.count else {
            throw ReleaseError.invalidSetting(
                culprit: "--merge", value: "", problem: "no shard directory given",
                allowed: "one or more shard directories")
        }
        let config = try ShardStep.configDigest(context)
        var seen: [Int: String] = [:]
        for (directory, manifest) in shards {
            guard manifest.count == count else {
                throw ReleaseError.shard(
                    path: directory, problem: "is shard \(manifest.index)/\(manifest.count), the others are of \(count)"
                )
            }
            if let other = seen[manifest.index] {
                throw ReleaseError.shard(
                    path: directory,
                    problem: "duplicates shard \(manifest.index)/\(count) of \(other); give each shard once")
            }
            seen[manifest.index] = directory
            // The commit and version too: the plan digest alone does not name the commit.
            guard manifest.plan == plan.digest, manifest.config == config, manifest.commit == plan.version.commit,
                manifest.version == plan.version.version
            else {
                throw ReleaseError.shard(
                    path: directory,
                    problem:
                        "belongs to another release (version \(manifest.version), commit \(manifest.commit)); this one is version \(plan.version.version), commit \(plan.version.commit) with this config: shard and merge the same commit and config"
                )
            }
            guard manifest.go == shards[0].manifest.go else {
                throw ReleaseError.shard(
                    path: directory,
                    problem:
                        "was built with Go \(manifest.go), \(shards[0].directory) with Go \(shards[0].manifest.go); build every shard with one Go"
                )
            }
        }
        if let missing = (1...count).first(where: { seen[$0] == nil }) {
            throw ReleaseError.shard(
                path: "\(missing)/\(count)", problem: "is missing; merge needs all \(count) shards")
        }
        var placements: [(source: OpenFile, target: String)] = []
        for (directory, manifest) in shards {
            let spec = try ShardSpec(index: manifest.index, count: count)
            let expected = Self.expectedOutputs(plan.sharded(spec))
            let listed = Dictionary(
                manifest.outputs.map { ($0.path, $0.sha256) }, uniquingKeysWith: { first, _ in first })
            if let extra = listed.keys.sorted().first(where: { expected[$0] == nil }) {
                throw ReleaseError.shard(path: directory, problem: "\(extra) is not part of shard \(spec) of this plan")
            }
            for (relative, target) in expected.sorted(by: { $0.key < $1.key }) {
                guard let sha256 = listed[relative] else {
                    throw ReleaseError.shard(path: directory, problem: "\(relative) is missing from shard.json")
                }
                // Opened once, beneath the shard: what is hashed is what is copied, and nothing outside it.
                let source: OpenFile
                do {
                    source = try Beneath(directory).open(relative)
                } catch {
                    let what = error.reason == "does not exist" ? "is missing" : error.reason
                    throw ReleaseError.shard(
                        path: directory, problem: "\(relative) \(what); allowed: a regular file inside the shard")
                }
                let actual = try fileSHA256(source.reopenPath)
                guard actual == sha256 else {
                    throw ReleaseError.shard(
                        path: directory,
                        problem:
                            "\(relative) has sha256 \(actual), shard.json says \(sha256): it was changed or truncated")
                }
                placements.append((source, target))
            }
        }
        for placement in placements { try Self.place(placement.source, at: placement.target) }
        return .merged(shards: shards.count, binaries: plan.builds.count, images: plan.images.count)
    }

    /// Each shard output's path inside the shard → its place under `_output`.
    static func expectedOutputs(_ shard: ReleasePlan) -> [String: String] {
        Dictionary(ShardStep.outputs(of: shard).map { ($0.relative, $0.source) }) { first, _ in first }
    }

    private static func read(_ directory: String) throws -> (directory: String, manifest: ShardManifest) {
        let data: Data
        do {
            data = try Beneath(directory).read(ShardManifest.fileName, limit: 16 << 20)
        } catch {
            throw ReleaseError.shard(
                path: directory,
                problem:
                    "\(ShardManifest.fileName) \(error.reason); give the <I>-of-<N> directories that `kbuild release --shard` wrote"
            )
        }
        guard let manifest = try? JSONDecoder().decode(ShardManifest.self, from: data),
            manifest.format == "kbuild-shard-v1"
        else {
            throw ReleaseError.shard(
                path: directory, problem: "\(ShardManifest.fileName) is not a kbuild-shard-v1 manifest")
        }
        return (directory, manifest)
    }

    /// A copy renamed into place: the shard directory stays as it was, the target appears complete.
    private static func place(_ source: OpenFile, at target: String) throws {
        let temporary = FileOutput.temporarySibling(of: target)
        do {
            try FileManager.default.createDirectory(atPath: Paths.parent(of: target), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: temporary)
            try source.copy(
                to: temporary, mode: target.hasSuffix(".tar") || target.hasSuffix(".docker_tag") ? 0o644 : 0o755)
            guard rename(temporary, target) == 0 else {
                throw FileOutputError(path: target, operation: "rename into place", errno: errno)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ReleaseError.io(path: target, reason: "cannot place the shard's copy: \(Escaping.reason(of: error))")
        }
    }
}
