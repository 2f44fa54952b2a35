import Foundation
import KbuildConfig
import KbuildCore
import KbuildDigest
import KbuildGo

/// One slice of a release split across machines: shard `index` of `count`, both 1-based as typed.
public struct ShardSpec: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws(ReleaseError) {
        guard count >= 1, count <= 64, index >= 1, index <= count else {
            throw .invalidSetting(
                culprit: "--shard", value: "\(index)/\(count)", problem: "not a shard of the release",
                allowed: Self.allowed)
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N`.
    public init(parsing text: String) throws(ReleaseError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw .invalidSetting(culprit: "--shard", value: text, problem: "not I/N", allowed: Self.allowed)
        }
        try self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    private static let allowed = "I/N with 1 <= I <= N <= 64, e.g. 2/3"
    /// The directory name under `_output/shards`: `2-of-3`.
    public var directoryName: String { "\(index)-of-\(count)" }
}

extension ReleasePlan {
    /// What must be equal for shards to belong to one release: everything that shapes the binaries,
    /// the images and the tarballs (plan, config, version, date, Go flags), as the sha256 of its canonical JSON.
    public var digest: String {
        let identity = ShardIdentity(
            plan: documentDigest, versionFile: version.versionFile, buildDate: version.buildDate,
            sourceDate: sourceDate.seconds, go: config.go, baseImage: config.images.base)
        // Strings, integers and arrays of them always encode.
        return (try? CanonicalJSON.sha256(identity)) ?? ""
    }

    /// The builds of every shard of `count`, deterministic: whole platforms where there are enough
    /// (one `go build` per platform shares the compile work), the biggest split by binary where there
    /// are not, then largest first onto the least loaded shard (ties to the lowest index).
    public func shardBuilds(count: Int) -> [[GoBuildTarget]] {
        var groups = Dictionary(grouping: builds, by: \.platform).values
            .map { $0.sorted { $0.binary < $1.binary } }
            .sorted { ($0.count, $1[0].platform) > ($1.count, $0[0].platform) }
        while groups.count < count, let largest = groups.first, largest.count > 1 {
            groups.removeFirst()
            let half = largest.count / 2
            groups += [Array(largest[..<half]), Array(largest[half...])]
            groups.sort { ($0.count, $1[0].platform, $1[0].binary) > ($1.count, $0[0].platform, $0[0].binary) }
        }
        var shards = [[GoBuildTarget]](repeating: [], count: count)
        for group in groups {
            let lightest = shards.indices.min { (shards[$0].count, $0) < (shards[$1].count, $1) } ?? 0
            shards[lightest] += group
        }
        return shards.map { $0.sorted { ($0.platform, $0.binary) < ($1.platform, $1.binary) } }
    }

    /// The plan narrowed to one shard's builds and the images of those binaries; archives are the merge's.
    public func sharded(_ spec: ShardSpec) -> ReleasePlan {
        var plan = self
        plan.builds = shardBuilds(count: spec.count)[spec.index - 1]
        let built = Set(plan.builds.map(\.output))
        plan.images = images.filter { built.contains($0.request.binaryPath) }
        plan.archives = []
        plan.sideFiles = []
        return plan
    }
}

/// `_output/shards/<I>-of-<N>/shard.json`: what a shard built, for the merge to check.
public struct ShardManifest: Codable, Sendable, Hashable {
    /// One output: its path inside the shard directory (`bin/<os>/<arch>/<bin>`, `images/<arch>/<bin>.tar`…) and sha256.
    public struct Output: Codable, Sendable, Hashable {
        public var path: String
        public var sha256: String
    }

    public static let fileName = "shard.json"

    public var format = "kbuild-shard-v1"
    public var index: Int
    public var count: Int
    /// `ReleasePlan.digest`: equal across the shards of one release.
    public var plan: String
    public var version: String
    public var commit: String
    /// sha256 of the release config file's bytes.
    public var config: String
    /// The Go that built the binaries (`1.19.8`): shards built with different Go differ in bytes.
    public var go: String
    public var outputs: [Output]
}

/// What shards of one release share (`ReleasePlan.digest`).
private struct ShardIdentity: Encodable {
    var plan: String
    var versionFile: String
    var buildDate: String
    var sourceDate: Int64
    var go: ReleaseConfig.Go
    /// nil: scratch.
    var baseImage: String?
}
