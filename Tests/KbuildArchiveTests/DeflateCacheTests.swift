import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

@testable import KbuildArchive

/// Entry-aligned gzip blocks and the cache that deflates each distinct one once.
@Suite struct DeflateCacheTests {
    static let epoch = FastGzipTests.epoch

    /// Three 2.5 MB "binaries" (text, so deflate has work) and a small file, under `name`.
    func makeTree(in dir: TemporaryDirectory, name: String) throws -> String {
        let root = dir.appending(name)
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        for binary in ["kubectl", "kubelet", "kube-proxy"] {
            var text = ""
            var line = 0
            while text.utf8.count < 2_500_000 {
                text += "\(binary) \(line): the quick brown fox jumps over the lazy dog\n"
                line += 1
            }
            try text.write(toFile: root + "/bin/" + binary, atomically: false, encoding: .utf8)
        }
        try "v1.2.3\n".write(toFile: root + "/version", atomically: false, encoding: .utf8)
        return root
    }

    func pack(_ root: String, under prefix: String, to path: String, pool: DeflatePool?) throws -> Data {
        try Tarball.write(
            try TarEntry.tree(of: root, under: prefix), to: path,
            options: TarOptions(compression: .fastGzip(level: 6, pool: pool), mtime: Self.epoch))
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test func theTarBytesAreUnchangedAndOutsideReadersReadIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir, name: "stage")
        let entries = try TarEntry.tree(of: root, under: "kubernetes")
        let plain = dir.appending("plain.tar")
        try Tarball.write(entries, to: plain, options: TarOptions(compression: .none, mtime: Self.epoch))
        let packed = dir.appending("packed.tar.gz")
        _ = try pack(root, under: "kubernetes", to: packed, pool: FastGzipTests.pool)
        try await Tool.check("gzip", ["-t", packed])
        try await Tool.check("sh", ["-c", "gzip -dc \"$1\" > \"$2\"", "sh", packed, dir.appending("back.tar")])
        // Unbuffered libarchive plus our own record padding: the same tar, byte for byte.
        #expect(
            FileManager.default.contentsEqual(atPath: plain, andPath: dir.appending("back.tar")), "tar stream changed")
        let listing = try await Tool.check("tar", ["-tzf", packed])
        #expect(listing.split(separator: "\n").count == 6)
        // The blocks follow the entries: headers of bin/ and bin/kube-proxy, its data in 3 blocks or more
        // (at most 1 MiB each), the next header, 3+, the next header, 3+, then version, the trailer, the padding.
        #expect(try await gzipMembers(packed) >= 13)
    }

    @Test func eachDistinctBlockIsDeflatedOncePerReleaseAndAcrossRuns() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir, name: "stage")
        let reference = try pack(root, under: "client", to: dir.appending("ref-client.tar.gz"), pool: nil)
        let cacheDirectory = dir.appending("cache/deflate")

        // One release: the client and the server tarball hold the same binaries under other paths.
        let first = DeflateCache(directory: cacheDirectory)
        let pool = DeflatePool(threads: 2, cache: first)
        let client = try pack(root, under: "client", to: dir.appending("client.tar.gz"), pool: pool)
        let blocks = first.snapshot.deflated
        #expect(blocks >= 3 * 3)  // three 2.5 MB binaries, blocks of at most 1 MiB
        let server = try pack(root, under: "server", to: dir.appending("server.tar.gz"), pool: pool)
        pool.shutdown()
        #expect(client == reference, "the cache changed the bytes")
        #expect(first.snapshot.deflated == blocks, "the server tarball deflated the client binaries again")
        #expect(first.snapshot.memoryHits == blocks)

        // The next run: nothing to deflate, everything from disk.
        let second = DeflateCache(directory: cacheDirectory)
        let again = DeflatePool(threads: 2, cache: second)
        #expect(try pack(root, under: "server", to: dir.appending("server2.tar.gz"), pool: again) == server)
        again.shutdown()
        #expect(second.snapshot.deflated == 0)
        #expect(second.snapshot.diskHits == blocks)

        // A one-file edit: only that binary's changed block is deflated.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: root + "/bin/kubelet"))
        try handle.seek(toOffset: 1_500_000)
        try handle.write(contentsOf: Data("EDITED".utf8))
        try handle.close()
        let third = DeflateCache(directory: cacheDirectory)
        let edited = DeflatePool(threads: 2, cache: third)
        let after = try pack(root, under: "server", to: dir.appending("server3.tar.gz"), pool: edited)
        edited.shutdown()
        // The edited block, and the next one if the edit moved a content-defined cut.
        #expect((1...2).contains(third.snapshot.deflated))
        #expect(third.snapshot.deflatedBytes <= 2 << 20)
        #expect(third.snapshot.diskHits == blocks - third.snapshot.deflated)
        #expect(after == (try pack(root, under: "server", to: dir.appending("plain3.tar.gz"), pool: nil)))
    }

    @Test func aCorruptCacheEntryIsRecomputedNeverShipped() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir, name: "stage")
        let cacheDirectory = dir.appending("cache/deflate")
        let fill = DeflatePool(threads: 2, cache: DeflateCache(directory: cacheDirectory))
        let expected = try pack(root, under: "k", to: dir.appending("a.tar.gz"), pool: fill)
        fill.shutdown()

        let library = try #require(try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).first)
        let files = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory + "/" + library).sorted()
        #expect(files.count >= 9)
        // Flip one byte inside a deflate stream (CRC and size untouched), truncate another, empty a third.
        let flipped = cacheDirectory + "/" + library + "/" + files[0]
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: flipped)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))
        let truncated = cacheDirectory + "/" + library + "/" + files[1]
        try Data(try Data(contentsOf: URL(fileURLWithPath: truncated)).prefix(100)).write(
            to: URL(fileURLWithPath: truncated))
        try Data().write(to: URL(fileURLWithPath: cacheDirectory + "/" + library + "/" + files[2]))

        let cache = DeflateCache(directory: cacheDirectory)
        let pool = DeflatePool(threads: 2, cache: cache)
        let packed = dir.appending("b.tar.gz")
        #expect(try pack(root, under: "k", to: packed, pool: pool) == expected)
        pool.shutdown()
        #expect(cache.snapshot.corrupt == 3)
        #expect(cache.snapshot.deflated == 3)
        #expect(cache.snapshot.diskHits == files.count - 3)
        try await Tool.check("gzip", ["-t", packed])
        // Rewritten: a third run finds all nine.
        let healed = DeflateCache(directory: cacheDirectory)
        let last = DeflatePool(threads: 1, cache: healed)
        #expect(try pack(root, under: "k", to: dir.appending("c.tar.gz"), pool: last) == expected)
        last.shutdown()
        #expect(healed.snapshot.diskHits == files.count && healed.snapshot.corrupt == 0)
    }

    @Test func aFileEmbeddedAtAnotherOffsetSharesItsBlocks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A "binary", and an "image tarball" holding it 1,234 bytes in, as server/bin/<bin>.tar does.
        let binary = pseudoRandomBytes(count: 6 << 20, seed: 7)
        let image = pseudoRandomBytes(count: 1234, seed: 8) + binary + pseudoRandomBytes(count: 999, seed: 9)
        let cache = DeflateCache(directory: nil)
        let pool = DeflatePool(threads: 2, cache: cache)
        defer { pool.shutdown() }
        let options = TarOptions(compression: .fastGzip(level: 1, pool: pool), mtime: Self.epoch)
        try Tarball.write([.data("bin/kubelet", binary)], to: dir.appending("a.tar.gz"), options: options)
        let alone = cache.snapshot.deflated
        try Tarball.write([.data("bin/kubelet.tar", image)], to: dir.appending("b.tar.gz"), options: options)
        // Content-defined cuts find the binary's blocks again after the first one or two.
        #expect(alone >= 6)
        #expect(cache.snapshot.memoryHits >= alone - 2, "\(cache.snapshot)")
    }

    @Test func pruneKeepsTheNewestWithinTheBound() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir, name: "stage")
        let cache = DeflateCache(directory: dir.appending("cache"))
        let pool = DeflatePool(threads: 1, cache: cache)
        _ = try pack(root, under: "k", to: dir.appending("a.tar.gz"), pool: pool)
        pool.shutdown()
        let directory = try #require(cache.directory)
        let sizes = try FileManager.default.contentsOfDirectory(atPath: directory).map {
            try FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.size] as! Int
        }
        let total = sizes.reduce(0, +)
        cache.prune(maxBytes: Int64(total - 1))
        let left = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(left.count < sizes.count && !left.isEmpty)
        cache.prune(maxBytes: 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    /// The number of gzip members in `path`, counted by python3's zlib (member after member).
    func gzipMembers(_ path: String) async throws -> Int {
        let script = """
            import sys, zlib
            data, members = open(sys.argv[1], "rb").read(), 0
            while data:
                inflater = zlib.decompressobj(31)
                inflater.decompress(data)
                assert inflater.eof
                data, members = inflater.unused_data, members + 1
            print(members)
            """
        return Int(
            try await Tool.check("python3", ["-c", script, path]).trimmingCharacters(in: .whitespacesAndNewlines))!
    }
}
