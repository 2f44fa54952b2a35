import Foundation
import KbuildCore
import TestSupport
import Testing

/// A release split into shards on "other machines" (other clones, each its own _output) and merged
/// on a fourth is byte-identical to the release of one machine; shards that do not belong together
/// are refused with one line naming the shard, and nothing is packed.
@Suite(.serialized) struct ShardEndToEndTests {
    static let environment: [String: String?] = ["SOURCE_DATE_EPOCH": "1700000000"]

    /// Clones of one tagged example commit: `single` releases alone, the others shard and merge.
    struct Machines {
        let dir: TemporaryDirectory
        let origin: GitRepository

        init() async throws {
            dir = try TemporaryDirectory("kbuild-shards")
            origin = try await Repository.exampleWorkspace(in: dir.appending("origin"), tag: "v1.2.3")
        }

        func clone(_ name: String) async throws -> String {
            let path = dir.appending(name)
            if !FileManager.default.fileExists(atPath: path) {
                try await Tool.check("git", ["clone", "-q", origin.path, path])
            }
            return path
        }

        func kbuild(_ arguments: [String], on machine: String) async throws -> CommandResult {
            try await runKbuild(arguments, in: try await clone(machine), ShardEndToEndTests.environment)
        }

        /// `kbuild release --shard I/N` on machine `shard-I`; returns the shard directory.
        func shard(_ index: Int, of count: Int) async throws -> String {
            let result = try await kbuild(["release", "--shard", "\(index)/\(count)"], on: "shard-\(index)")
            try #require(result.succeeded, "\(result.stderr)")
            return dir.appending("shard-\(index)/_output/shards/\(index)-of-\(count)")
        }

        /// Every file of release-tars by name.
        func releaseTars(_ machine: String) throws -> [String: Data] {
            let tars = dir.appending(machine + "/_output/release-tars")
            var files: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: tars) {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: tars + "/" + name))
            }
            return files
        }
    }

    @Test func oneTwoAndThreeShardsMergeToTheSameBytes() async throws {
        let machines = try await Machines()
        defer { machines.dir.remove() }
        let single = try await machines.kbuild(["release"], on: "single")
        try #require(single.succeeded, "\(single.stderr)")
        let expected = try machines.releaseTars("single")
        #expect(expected["SHA256SUMS"] != nil && expected.count > 40)

        for count in [1, 2, 3] {
            var shards: [String] = []
            for index in 1...count { shards.append(try await machines.shard(index, of: count)) }
            // Every build of the plan is in exactly one shard.
            var built: [String] = []
            for shard in shards {
                let manifest =
                    try JSONSerialization.jsonObject(
                        with: try Data(contentsOf: URL(fileURLWithPath: shard + "/shard.json"))) as? [String: Any]
                let outputs = try #require(manifest?["outputs"] as? [[String: String]])
                built += outputs.compactMap { $0["path"] }.filter { $0.hasPrefix("bin/") }
            }
            #expect(built.count == 17 && Set(built).count == 17, "\(count) shards built \(built)")

            let merged = try await machines.kbuild(["release", "--merge"] + shards.reversed(), on: "merge")
            try #require(merged.succeeded, "\(merged.stderr)")
            #expect(!merged.stdout.contains("built "), "the merge ran go build:\n\(merged.stdout)")
            let files = try machines.releaseTars("merge")
            #expect(files.keys.sorted() == expected.keys.sorted())
            for (name, bytes) in expected { #expect(files[name] == bytes, "\(count) shards: \(name) differs") }
        }
    }

    @Test func shardsThatDoNotBelongTogetherAreRefusedAndNothingIsPacked() async throws {
        let machines = try await Machines()
        defer { machines.dir.remove() }
        let one = try await machines.shard(1, of: 2)
        let two = try await machines.shard(2, of: 2)
        let good = try await machines.kbuild(["release", "--merge", one, two], on: "merge")
        try #require(good.succeeded, "\(good.stderr)")
        let before = try machines.releaseTars("merge")

        func refused(_ shards: [String], _ message: String) async throws {
            let result = try await machines.kbuild(["release", "--merge"] + shards, on: "merge")
            #expect(result.status == 1)
            #expect(result.stderr == "error: \(message)\n")
            #expect(try machines.releaseTars("merge") == before, "release-tars changed after: \(message)")
        }
        /// `refused` under coreutils' timeout: a merge blocked on a FIFO is killed (137) instead of hanging.
        func refusedBounded(_ shards: [String], _ message: String) async throws {
            let result = try await Tool.run(
                "timeout", ["--signal=KILL", "300", Repository.kbuildBinary, "release", "--merge"] + shards,
                in: try await machines.clone("merge"), environment: ShardEndToEndTests.environment)
            #expect(result.status == 1, "\(result.status): \(result.stderr)")
            #expect(result.stderr == "error: \(message)\n")
            #expect(try machines.releaseTars("merge") == before, "release-tars changed after: \(message)")
        }
        try await refused([one], "shard 2/2: is missing; merge needs all 2 shards")
        try await refused([one, one], "shard \(one): duplicates shard 1/2 of \(one); give each shard once")

        // A corrupted binary.
        let corrupt = machines.dir.appending("corrupt")
        try await Tool.check("cp", ["-a", two, corrupt])
        let manifest = try String(contentsOfFile: corrupt + "/shard.json", encoding: .utf8)
        let binary = try #require(
            manifest.split(separator: "\"").first { $0.hasPrefix("bin/") }.map(String.init))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: corrupt + "/" + binary))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("x".utf8))
        try handle.close()
        let result = try await machines.kbuild(["release", "--merge", one, corrupt], on: "merge")
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: shard \(corrupt): \(binary) has sha256 "), "\(result.stderr)")
        #expect(result.stderr.hasSuffix("it was changed or truncated\n"), "\(result.stderr)")
        #expect(try machines.releaseTars("merge") == before)

        // A shard.json naming another commit (forty zeros), all else equal.
        let zeros = machines.dir.appending("zeros")
        try await Tool.check("cp", ["-a", two, zeros])
        let json = try String(contentsOfFile: zeros + "/shard.json", encoding: .utf8)
        let commit = try await machines.origin.git("rev-parse", "HEAD")
        try json.replacingOccurrences(of: commit, with: String(repeating: "0", count: 40))
            .write(toFile: zeros + "/shard.json", atomically: true, encoding: .utf8)
        try await refused(
            [one, zeros],
            "shard \(zeros): belongs to another release (version v1.2.3, commit \(String(repeating: "0", count: 40))); this one is version v1.2.3, commit \(commit) with this config: shard and merge the same commit and config"
        )

        // A binary, bin/ and shard.json that are symlinks out of the shard (to the right bytes), a FIFO
        // binary: refused, naming what each is; nothing outside is placed, nothing blocks.
        let linked = machines.dir.appending("linked")
        let outside = machines.dir.appending("outside")
        try await Tool.check("cp", ["-a", two, linked])
        try await Tool.check("cp", ["-a", two, outside])
        try FileManager.default.removeItem(atPath: linked + "/" + binary)
        try FileManager.default.createSymbolicLink(
            atPath: linked + "/" + binary, withDestinationPath: outside + "/" + binary)
        try await refusedBounded(
            [one, linked],
            "shard \(linked): \(binary) is a symlink to \(outside)/\(binary); allowed: a regular file inside the shard")
        try FileManager.default.removeItem(atPath: linked + "/bin")
        try FileManager.default.createSymbolicLink(atPath: linked + "/bin", withDestinationPath: outside + "/bin")
        try await refusedBounded(
            [one, linked],
            "shard \(linked): \(binary) goes through bin, a symlink to \(outside)/bin; allowed: a regular file inside the shard"
        )
        try FileManager.default.removeItem(atPath: linked + "/bin")
        try await Tool.check("cp", ["-a", outside + "/bin", linked + "/bin"])
        try FileManager.default.removeItem(atPath: linked + "/shard.json")
        try FileManager.default.createSymbolicLink(
            atPath: linked + "/shard.json", withDestinationPath: outside + "/shard.json")
        try await refusedBounded(
            [one, linked],
            "shard \(linked): shard.json is a symlink to \(outside)/shard.json; give the <I>-of-<N> directories that `kbuild release --shard` wrote"
        )
        try FileManager.default.removeItem(atPath: linked + "/shard.json")
        try await Tool.check("cp", [outside + "/shard.json", linked + "/shard.json"])
        try FileManager.default.removeItem(atPath: linked + "/" + binary)
        #expect(mkfifo(linked + "/" + binary, 0o755) == 0)
        try await refusedBounded(
            [one, linked], "shard \(linked): \(binary) is a FIFO; allowed: a regular file inside the shard")

        // A shard of another commit.
        let other = try await machines.clone("shard-2")
        try writeFile(other + "/cmd/kubectl/extra.go", "package main\n")
        let repo = GitRepository(path: other)
        try await repo.commitAll("another commit")
        let moved = try await machines.shard(2, of: 2)
        let stale = try await machines.kbuild(["release", "--merge", one, moved], on: "merge")
        #expect(stale.status == 1)
        #expect(
            stale.stderr.hasPrefix("error: shard \(moved): belongs to another release (version v1.2.3-1+"),
            "\(stale.stderr)")
        #expect(try machines.releaseTars("merge") == before)
    }
}
