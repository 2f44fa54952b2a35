import Foundation
import KbuildCore
import TestSupport
import Testing

/// Issue 21, item 2: `kbuild diff` and `kbuild verify` stay under 200 MB peak RSS (GNU time's %M) on
/// decompression bombs, a 2 GiB nested image and a 4 MB tarball of 400,000 entries, and still say what
/// differs. Every input is streamed into being (Tests/Fixtures/bombs.py, head | gzip), never stored
/// uncompressed.
@Suite(.serialized) struct MemoryBoundsTests {
    static let limitKB = 200 * 1024

    /// `kbuild ARGS` under /usr/bin/time: the result and the peak RSS in KiB.
    static func measured(_ arguments: [String], in directory: String) async throws -> (CommandResult, Int) {
        let rss = directory + "/rss.txt"
        let result = try await Tool.run(
            "/usr/bin/time", ["-f", "%M", "-o", rss, Repository.kbuildBinary] + arguments, in: directory,
            environment: ["KBUILD_GOCACHE": SharedGoCache.path])
        let text = try String(contentsOfFile: rss, encoding: .utf8)
        let kilobytes = Int(text.split(separator: "\n").last.map(String.init) ?? "") ?? Int.max
        return (result, kilobytes)
    }

    static func bombs(_ arguments: [String]) async throws {
        try await Tool.check("python3", [Repository.root + "/Tests/Fixtures/bombs.py"] + arguments)
    }

    @Test func diffOfBombsAndHugeArchivesIsBounded() async throws {
        let dir = try TemporaryDirectory("kbuild-bombs")
        defer { dir.remove() }
        let real = dir.appending("real.tar.gz")
        try await Tool.check("tar", ["-czf", real, "-C", Repository.examples, "."])
        // 1 MiB, 1 GiB and (ten 1 GiB gzip members) 10 GiB of zeros.
        try await Tool.check("sh", ["-c", "head -c 1048576 /dev/zero | gzip -1 > small.gz"], in: dir.path)
        try await Tool.check("sh", ["-c", "head -c 1073741824 /dev/zero | gzip -1 > bomb1.gz"], in: dir.path)
        try await Tool.check(
            "sh", ["-c", "for i in 1 2 3 4 5 6 7 8 9 10; do cat bomb1.gz; done > bomb10.gz"], in: dir.path)
        try await Self.bombs(["entries", "400000", dir.appending("entries.tar.gz")])
        try await Self.bombs(["nested", String(2 << 30), dir.appending("nested.tar.gz")])

        // What a small file of zeros is found to be, a bomb is found to be too.
        let (small, _) = try await Self.measured(["diff", real, "small.gz"], in: dir.path)
        #expect(small.stdout.contains("small.gz  file type") && small.stdout.contains("tar  data"), "\(small.stdout)")
        for bomb in ["bomb1.gz", "bomb10.gz"] {
            let (result, kilobytes) = try await Self.measured(["diff", real, bomb], in: dir.path)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(
                result.stdout.contains("\(bomb)  file type") && result.stdout.contains("tar  data"), "\(result.stdout)")
            #expect(kilobytes < Self.limitKB, "\(bomb): \(kilobytes) KiB")
        }
        let (entries, entriesKB) = try await Self.measured(["diff", real, "entries.tar.gz"], in: dir.path)
        #expect(entries.stdout.contains("added    entries.tar.gz!bomb/0000000"), "\(entries.stdout.prefix(2000))")
        #expect(entries.stdout.hasSuffix("500 differences\n"))
        #expect(entriesKB < Self.limitKB, "entries: \(entriesKB) KiB")
        let (nested, nestedKB) = try await Self.measured(["diff", real, "nested.tar.gz"], in: dir.path)
        #expect(nested.stdout.contains("nested.tar.gz!kubernetes/server/bin/kube-proxy.tar"), "\(nested.stdout)")
        #expect(nestedKB < Self.limitKB, "nested: \(nestedKB) KiB")
        // Two bombs: compared by what was counted while streaming.
        let (two, _) = try await Self.measured(["diff", "bomb1.gz", "bomb10.gz"], in: dir.path)
        #expect(
            two.stdout.contains(
                "decompressed content (over 64.0 MiB: compared by sha256)  1.0 GiB (1073741824 bytes), sha256 "),
            "\(two.stdout)")
    }

    /// Tarballs past the 64 MiB held in memory are read side by side, and still explained entry by entry:
    /// a small file's changed line, another entry order (made with GNU tar and gzip).
    @Test func largeTarStreamsAreComparedEntryByEntry() async throws {
        let dir = try TemporaryDirectory("kbuild-streamed")
        defer { dir.remove() }
        let tree = dir.appending("t")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try await Tool.check("sh", ["-c", "head -c 70000000 /dev/zero > big"], in: tree)
        try writeFile(tree + "/a", "one\n")
        try writeFile(tree + "/b", "two\n")
        try await Tool.check("tar", ["--mtime=@0", "-cf", "../A.tar", "a", "b", "big"], in: tree)
        try writeFile(tree + "/a", "ONE\n")
        try await Tool.check("tar", ["--mtime=@0", "-cf", "../B.tar", "b", "a", "big"], in: tree)
        try await Tool.check("gzip", ["-1", "-n", "A.tar", "B.tar"], in: dir.path)
        let (result, kilobytes) = try await Self.measured(["diff", "--json", "A.tar.gz", "B.tar.gz"], in: dir.path)
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        let found = (report["differences"] as? [[String: String]] ?? []).map {
            [$0["path"] ?? "", $0["field"] ?? "", $0["a"] ?? "", $0["b"] ?? ""]
        }
        #expect(
            found == [
                ["B.tar.gz!a", "line 1", "one", "ONE"], ["B.tar.gz", "entry order", "#2 b", "#1 b"],
            ], "\(found)")
        #expect(kilobytes < Self.limitKB, "\(kilobytes) KiB")
    }

    @Test func verifyListsTheFirstFailuresAndCountsTheRest() async throws {
        let dir = try TemporaryDirectory("kbuild-verify-bounds")
        defer { dir.remove() }
        let workspace = dir.appending("ws")
        _ = try await Repository.exampleWorkspace(in: workspace, tag: "v1.2.3")
        let released = try await runKbuild(
            ["release"], in: workspace, ["KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000"])
        try #require(released.succeeded, "\(released.stderr)")
        let tars = workspace + "/_output/release-tars"
        try await Self.bombs(["entries", "400000", tars + "/kubernetes-manifests.tar.gz"])
        try await Self.bombs(["nested", String(2 << 30), tars + "/kubernetes-server-linux-amd64.tar.gz"])
        try await VerifyEndToEndTests.reseal(tars)

        let (result, kilobytes) = try await Self.measured(["verify", tars, "-C", workspace], in: dir.path)
        #expect(result.status == 1)
        #expect(kilobytes < Self.limitKB, "\(kilobytes) KiB")
        let lines = result.stdout.split(separator: "\n")
        let outside = lines.filter { $0.contains("!bomb/") && $0.hasSuffix(": is not under kubernetes/addons/") }
        #expect(outside.count == 20, "\(outside.count) lines")
        #expect(
            lines.contains(
                "FAIL layout     kubernetes-manifests.tar.gz: 399980 more entries (400000 in all): is not under kubernetes/addons/"
            ), "\(result.stdout.prefix(4000))")
        #expect(
            lines.contains(
                "FAIL image      kubernetes-server-linux-amd64.tar.gz!kubernetes/server/bin/kube-proxy.tar: is 2.0 GiB; kbuild verify reads an image tarball of at most 512.0 MiB"
            ), "\(result.stdout.prefix(4000))")
        #expect(lines.count < 200, "\(lines.count) lines")
    }
}
