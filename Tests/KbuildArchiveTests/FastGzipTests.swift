import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

@testable import KbuildArchive

@Suite struct FastGzipTests {
    static let epoch = try! SourceDate(seconds: 1_700_000_000)

    /// One pool for the suite, as a release has one for its tarballs.
    static let pool = DeflatePool(threads: ProcessInfo.processInfo.activeProcessorCount)

    static func options(level: Int = 6, pool: DeflatePool? = FastGzipTests.pool) -> TarOptions {
        TarOptions(compression: .fastGzip(level: level, pool: pool), mtime: epoch)
    }

    /// The small awkward tree of the libarchive-gzip tests plus payloads spanning several 1 MiB blocks:
    /// random bytes (incompressible) and text (compressible).
    func makeTree(in dir: TemporaryDirectory, megabytes: Int = 3) throws -> String {
        let root = try TarballWriterTests().makeTree(in: dir, name: "stage", umask: 0o022)
        var text = ""
        var line = 0
        while text.utf8.count < megabytes << 20 {
            text += "line \(line): the quick brown fox jumps over the lazy dog\n"
            line += 1
        }
        try text.write(toFile: root + "/docs/text.txt", atomically: false, encoding: .utf8)
        try Data(pseudoRandomBytes(count: megabytes << 20 + 12345)).write(
            to: URL(fileURLWithPath: root + "/bin/random"))
        return root
    }

    func fileDigest(_ tool: String, _ path: String) async throws -> String {
        String(try await Tool.check(tool, [path]).split(separator: " ")[0])
    }

    @Test func gnuTarGzipAndTarReaderReadIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir)
        let out = dir.appending("out/fast.tar.gz")
        let written = try Tarball.write(
            try TarEntry.tree(of: root, under: "kubernetes"), to: out, options: Self.options())

        // Several members: the stream is longer than one block.
        #expect(written.size > 3 << 20)
        try await Tool.check("gzip", ["-t", out])
        #expect(written.size == Int64(try FileManager.default.attributesOfItem(atPath: out)[.size] as! Int))
        #expect(try written.digests.sha256(of: out).hex == (try await fileDigest("sha256sum", out)))
        #expect(try written.digests.checksums(of: out).sha512.hex == (try await fileDigest("sha512sum", out)))

        let listing = try await Tool.check(
            "tar", ["--numeric-owner", "--full-time", "-tvzf", out], environment: ["TZ": "UTC", "LC_ALL": "C.UTF-8"])
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines.count == 16)
        #expect(lines.allSatisfy { $0.contains(" 0/0 ") && $0.contains("2023-11-14 22:13:20") })
        #expect(lines.contains { $0.hasPrefix("-rwxr-xr-x") && $0.hasSuffix("kubernetes/bin/tool") })
        #expect(lines.contains { $0.hasPrefix("lrwxrwxrwx") && $0.hasSuffix("kubernetes/bin/alias -> tool") })

        let unpacked = dir.appending("unpacked")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        try await Tool.check("tar", ["-xzf", out, "-C", unpacked])
        for file in [
            "bin/tool", "bin/random", "docs/text.txt", "docs/über/naïve file.txt", TarballWriterTests.longName,
        ] {
            #expect(
                FileManager.default.contentsEqual(atPath: root + "/" + file, andPath: unpacked + "/kubernetes/" + file),
                "\(file)")
        }

        // libarchive (our own reader) reads across member boundaries too.
        let reader = try TarReader(path: out)
        var sizes: [String: Int] = [:]
        while let header = try reader.next() {
            if header.kind == .file { sizes[header.path] = try reader.readAll().count }
        }
        #expect(sizes["kubernetes/bin/random"] == 3 << 20 + 12345)
        #expect(
            sizes["kubernetes/docs/text.txt"]
                == (try FileManager.default.attributesOfItem(atPath: root + "/docs/text.txt")[.size] as? Int))
    }

    @Test func goArchiveTarAndCompressGzipReadIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir, megabytes: 2)
        let out = dir.appending("fast.tar.gz")
        try Tarball.write(try TarEntry.tree(of: root, under: "k"), to: out, options: Self.options())

        let program = dir.appending("gocheck")
        try FileManager.default.createDirectory(atPath: program, withIntermediateDirectories: true)
        try "module gocheck\n\ngo 1.19\n".write(toFile: program + "/go.mod", atomically: false, encoding: .utf8)
        try """
        package main

        import (
        \t"archive/tar"
        \t"compress/gzip"
        \t"fmt"
        \t"io"
        \t"os"
        )

        func main() {
        \tf, err := os.Open(os.Args[1])
        \tif err != nil {
        \t\tpanic(err)
        \t}
        \tz, err := gzip.NewReader(f)
        \tif err != nil {
        \t\tpanic(err)
        \t}
        \tr := tar.NewReader(z)
        \tfor {
        \t\th, err := r.Next()
        \t\tif err == io.EOF {
        \t\t\tbreak
        \t\t}
        \t\tif err != nil {
        \t\t\tpanic(err)
        \t\t}
        \t\tn, err := io.Copy(io.Discard, r)
        \t\tif err != nil {
        \t\t\tpanic(err)
        \t\t}
        \t\tfmt.Printf("%s %d\\n", h.Name, n)
        \t}
        \t// Every member was consumed: nothing is left after the tar end.
        \tif _, err := io.Copy(io.Discard, z); err != nil {
        \t\tpanic(err)
        \t}
        }

        """.write(toFile: program + "/main.go", atomically: false, encoding: .utf8)
        // One Go cache for every run of this test: std is compiled once per machine, not per run.
        let cache = NSTemporaryDirectory() + "/kbuild-test-archive-gocache"
        let output = try await Tool.check(
            "go", ["run", ".", out], in: program,
            environment: ["GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOCACHE": cache, "GO111MODULE": "on"])
        let listed = Dictionary(
            uniqueKeysWithValues: output.split(separator: "\n").map { line in
                let parts = line.split(separator: " ")
                return (parts.dropLast().joined(separator: " "), Int(parts.last!)!)
            })
        #expect(listed["k/bin/random"] == 2 << 20 + 12345)
        #expect(listed["k/bin/tool"] == 18)
        #expect(listed["k/docs/über/naïve file.txt"] == "ünïcødé\n".utf8.count)
        #expect(listed.count == 16)
    }

    /// A writer alone on a pool has every block compressed by the pool's threads, however long its stream:
    /// a pool that kept finished blocks (and so their slots) once compressed all but the first six blocks
    /// of a release on the writer's thread.
    @Test func aLoneWriterKeepsThePoolBusyPastItsSlots() {
        let pool = DeflatePool(threads: 2)
        defer { pool.shutdown() }
        var members = 0
        let stream = ParallelGzipStream(level: 1, pool: pool) { _ in
            members += 1
            return true
        }
        let block = [UInt8](repeating: 7, count: 1 << 20)
        for _ in 0..<32 { #expect(block.withUnsafeBytes { stream.append($0) }) }
        #expect(stream.finish())
        #expect(members == 32)
        #expect(stream.compressedHere == 0, "blocks compressed on the writer's thread")
    }

    @Test func threadCountsDoNotChangeTheBytes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir, megabytes: 3)
        let entries = try TarEntry.tree(of: root, under: "kubernetes")
        var outputs: [Data] = []
        for threads in [1, 2, 5] {
            // No pool at all for 1: every block on the calling thread.
            let pool = threads == 1 ? nil : DeflatePool(threads: threads)
            defer { pool?.shutdown() }
            let written = try Tarball.write(
                entries, to: dir.appending("t\(threads).tar.gz"), options: Self.options(pool: pool))
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: written.path)))
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0] == outputs[2])
        // Two tarballs written at the same time share the pool and still give the same bytes.
        let again = [1, 2].map { _ in dir.appending("c\(UUID().uuidString).tar.gz") }
        DispatchQueue.concurrentPerform(iterations: again.count) { index in
            _ = try? Tarball.write(entries, to: again[index], options: Self.options())
        }
        for path in again { #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == outputs[0]) }
        // Every member header: no name, MTIME 0, OS Unix.
        let header = [UInt8](outputs[0].prefix(10))
        #expect(header == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
    }

    @Test func largeMixedInputRoundTrips() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = dir.appending("big.bin")
        // ~50 MB: random and text stretches alternating, so blocks compress very differently.
        try await Tool.check(
            "sh",
            ["-c", "for i in 1 2 3 4 5 6; do head -c 4200000 /dev/urandom; seq 1 600000; done > \"$1\"", "sh", source])
        let expected = try Digest.file(source, .sha256)
        let out = dir.appending("big.tar.gz")
        let written = try Tarball.write(
            [.file("big.bin", source: source, executable: false)], to: out, options: Self.options())
        try await Tool.check("gzip", ["-t", out])
        #expect(try written.digests.sha256(of: out).hex == (try await fileDigest("sha256sum", out)))

        let reader = try TarReader(path: out)
        let header = try #require(try reader.next())
        #expect(header.path == "big.bin")
        #expect(try reader.extract(to: dir.appending("back.bin")) == expected)
        #expect(try reader.next() == nil)
    }

    @Test func memoryStaysBoundedForALargeFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = dir.appending("sparse.bin")
        // A 200 MB sparse file: costs no disk and little CPU, but streams 200 MB through the writer.
        let fd = open(source, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 200 << 20) == 0)
        close(fd)
        let before = peakResidentBytes()
        let written = try Tarball.write(
            [.file("sparse.bin", source: source, executable: false)], to: dir.appending("s.tar.gz"),
            options: Self.options())
        let growth = peakResidentBytes() - before
        #expect(written.size < 1 << 20)
        // Other tests run in this process at the same time, so this is only a loose upper bound.
        #expect(growth < 100 << 20, "peak RSS grew by \(growth >> 20) MB")
    }

    @Test func unsupportedLevelIsAClearError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let out = dir.appending("x.tar.gz")
        #expect(throws: ArchiveError.invalidLevel(path: out, level: 13, allowed: "1-12")) {
            try Tarball.write([.data("a", "b")], to: out, options: Self.options(level: 13))
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(TarOptions.Compression.fastGzipLibrary.hasPrefix("libdeflate "))
    }
}

func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024  // kilobytes on Linux
}
