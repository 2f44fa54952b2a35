import Foundation
import KbuildCore
import KbuildVerify
import TestSupport
import Testing

/// `kbuild diff` on archives made by GNU tar and gzip with one known difference each.
@Suite struct DiffTests {
    /// A directory with a tiny tree to pack: `tree/a.txt`, `tree/b/c.txt`.
    func tree(_ dir: TemporaryDirectory) throws -> String {
        let root = dir.appending("src")
        try FileManager.default.createDirectory(atPath: root + "/tree/b", withIntermediateDirectories: true)
        try "alpha\n".write(toFile: root + "/tree/a.txt", atomically: true, encoding: .utf8)
        try "charlie\n".write(toFile: root + "/tree/b/c.txt", atomically: true, encoding: .utf8)
        return root
    }

    /// `tar -cf - <arguments> | gzip -n` into `output`.
    func pack(_ output: String, in directory: String, _ arguments: [String]) async throws {
        let command = "tar -cf - \(arguments.joined(separator: " ")) | gzip -n > '\(output)'"
        try await Tool.check("/bin/sh", ["-c", command], in: directory)
    }

    func diff(_ a: String, _ b: String) async throws -> DiffReport {
        try await ReleaseDiffer(environment: ProcessInfo.processInfo.environment).compare(a, b)
    }

    static let fixed = [
        "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@1700000000", "--format=gnu",
    ]

    @Test func identicalTarballsHaveNoDifferences() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        try await pack(dir.appending("a.tar.gz"), in: root, Self.fixed + ["tree"])
        try await pack(dir.appending("b.tar.gz"), in: root, Self.fixed + ["tree"])
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        #expect(report.identical, "\(report.table())")
    }

    @Test func anMtimeIsNamedWithItsEntry() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        try await pack(dir.appending("a.tar.gz"), in: root, Self.fixed + ["tree"])
        try await pack(
            dir.appending("b.tar.gz"), in: root,
            Self.fixed.filter { !$0.hasPrefix("--mtime") } + ["--mtime=@1700000001", "tree"])
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        let mtime = report.differences.first { $0.path == "b.tar.gz!tree/a.txt" && $0.field == "mtime" }
        #expect(mtime?.a == "1700000000" && mtime?.b == "1700000001", "\(report.table())")
        #expect(Set(report.differences.map(\.field)) == ["mtime"], "\(report.table())")
    }

    @Test func anOwnerIsNamedAsUidAndUname() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        try await pack(dir.appending("a.tar.gz"), in: root, Self.fixed + ["tree"])
        let owned =
            Self.fixed.filter { !$0.hasPrefix("--owner") && $0 != "--numeric-owner" } + [
                "--owner=builder:1234", "tree",
            ]
        try await pack(dir.appending("b.tar.gz"), in: root, owned)
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        let fields = report.differences.filter { $0.path == "b.tar.gz!tree/b/c.txt" }.map {
            "\($0.field) \($0.a ?? "") \($0.b ?? "")"
        }
        #expect(fields.contains("uid 0 1234") && fields.contains("uname  builder"), "\(report.table())")
    }

    @Test func anEntryOrderIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        let unsorted = Self.fixed.filter { $0 != "--sort=name" } + ["--no-recursion"]
        try await pack(
            dir.appending("a.tar.gz"), in: root, unsorted + ["tree", "tree/a.txt", "tree/b", "tree/b/c.txt"])
        try await pack(
            dir.appending("b.tar.gz"), in: root, unsorted + ["tree", "tree/b", "tree/b/c.txt", "tree/a.txt"])
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        #expect(report.differences.count == 1, "\(report.table())")
        let order = try #require(report.differences.first)
        #expect(
            order.field == "entry order" && order.a?.hasPrefix("#2 tree/a.txt") == true
                && order.b?.hasPrefix("#2 tree/b/") == true)
    }

    @Test func aGzipHeaderNameIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        try await Tool.check("tar", Self.fixed + ["-cf", dir.appending("t.tar"), "tree"], in: root)
        // gzip -n stores no name; `gzip -c t.tar` stores "t.tar" (and the file's mtime).
        try await Tool.check(
            "/bin/sh", ["-c", "gzip -n -c t.tar > a.tar.gz && gzip -c t.tar > b.tar.gz"], in: dir.path)
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        let name = report.differences.first { $0.field == "gzip header name" }
        #expect(name?.a == "(none)" && name?.b == "t.tar", "\(report.table())")
        #expect(!report.differences.contains { $0.path.contains("!") }, "the tar inside is the same: \(report.table())")
    }

    @Test func aGzipTrailerIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        try await pack(dir.appending("a.tar.gz"), in: root, Self.fixed + ["tree"])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir.appending("a.tar.gz")))
        bytes[bytes.count - 8] ^= 0xff  // the CRC-32's low byte
        try bytes.write(to: URL(fileURLWithPath: dir.appending("b.tar.gz")))
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        let trailer = report.differences.first { $0.field == "gzip trailer" }
        #expect(trailer != nil && trailer?.a != trailer?.b, "\(report.table())")
    }

    @Test func aChangedFileInsideIsNamedByContent() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        try await pack(dir.appending("a.tar.gz"), in: root, Self.fixed + ["tree"])
        try "chaRlie\n".write(toFile: root + "/tree/b/c.txt", atomically: true, encoding: .utf8)
        try await pack(dir.appending("b.tar.gz"), in: root, Self.fixed + ["tree"])
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        #expect(report.differences.map(\.field) == ["line 1"], "\(report.table())")
        #expect(report.differences.first?.path == "b.tar.gz!tree/b/c.txt")
    }

    @Test func directoriesListAddedRemovedAndChangedFiles() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for (side, files) in [
            ("a", ["same": "1\n", "gone": "x\n", "doc.json": #"{"k":[1,2]}"#]),
            ("b", ["same": "1\n", "new": "y\n", "doc.json": #"{"k":[1,3]}"#]),
        ] {
            try FileManager.default.createDirectory(atPath: dir.appending(side), withIntermediateDirectories: true)
            for (name, text) in files {
                try text.write(toFile: dir.appending("\(side)/\(name)"), atomically: true, encoding: .utf8)
            }
        }
        let report = try await diff(dir.appending("a"), dir.appending("b"))
        let rows = report.differences.map {
            "\($0.change.rawValue) \($0.path) \($0.field) \($0.a ?? "-") \($0.b ?? "-")"
        }
        #expect(rows == ["removed gone file - -", "added new file - -", "changed doc.json json $.k[1] 2 3"], "\(rows)")
        let json = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        #expect(json?["identical"] as? Bool == false && (json?["differences"] as? [Any])?.count == 3)
    }

    @Test func goBinariesDifferInBuildInfoOrElseAtAnOffset() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "module example.com/hello\n\ngo 1.19\n".write(
            toFile: dir.appending("go.mod"), atomically: true, encoding: .utf8)
        try "package main\n\nvar v = \"one\"\n\nfunc main() { println(v) }\n"
            .write(toFile: dir.appending("main.go"), atomically: true, encoding: .utf8)
        let env: [String: String?] = [
            "GOCACHE": NSTemporaryDirectory() + "/kbuild-test-gocache", "GOFLAGS": nil, "CGO_ENABLED": "0",
        ]
        for (output, flags) in [("a", "-X main.v=one"), ("b", "-X main.v=two")] {
            try await Tool.check(
                "go", ["build", "-buildvcs=false", "-ldflags", flags, "-o", output, "."], in: dir.path, environment: env
            )
        }
        let report = try await diff(dir.appending("a"), dir.appending("b"))
        let ldflags = report.differences.first { $0.field == "go build -ldflags" }
        #expect(ldflags?.a == "\"-X main.v=one\"" && ldflags?.b == "\"-X main.v=two\"", "\(report.table())")

        // Same build info, different code: the first differing byte.
        try "package main\n\nvar v = \"uno\"\n\nfunc main() { println(v) }\n"
            .write(toFile: dir.appending("main.go"), atomically: true, encoding: .utf8)
        try await Tool.check(
            "go", ["build", "-buildvcs=false", "-ldflags", "-X main.v=one", "-o", "c", "."], in: dir.path,
            environment: env)
        let bytes = try await diff(dir.appending("a"), dir.appending("c"))
        #expect(bytes.differences.map(\.field) == ["bytes"], "\(bytes.table())")
        #expect(bytes.differences.first?.a?.hasPrefix("offset ") == true)
    }

    @Test func aPaxRecordAndALinkTargetAreNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try tree(dir)
        let pax =
            Self.fixed.filter { $0 != "--format=gnu" } + ["--format=pax", "--pax-option=delete=atime,delete=ctime"]
        try FileManager.default.createSymbolicLink(atPath: root + "/tree/link", withDestinationPath: "a.txt")
        try await pack(dir.appending("a.tar.gz"), in: root, pax + ["tree"])
        try FileManager.default.removeItem(atPath: root + "/tree/link")
        try FileManager.default.createSymbolicLink(atPath: root + "/tree/link", withDestinationPath: "b/c.txt")
        // Without delete=atime, GNU tar's pax format records each file's atime: the classic irreproducibility.
        let withAtime =
            Self.fixed.filter { $0 != "--format=gnu" } + ["--format=pax", "--pax-option=delete=ctime,comment=by-hand"]
        try await pack(dir.appending("b.tar.gz"), in: root, withAtime + ["tree"])
        let report = try await diff(dir.appending("a.tar.gz"), dir.appending("b.tar.gz"))
        let link = report.differences.first { $0.path == "b.tar.gz!tree/link" && $0.field == "link target" }
        #expect(link?.a == "a.txt" && link?.b == "b/c.txt", "\(report.table())")
        let atime = report.differences.first { $0.path == "b.tar.gz!tree/a.txt" && $0.field == "pax atime" }
        #expect(atime?.a == "(none)" && atime?.b?.isEmpty == false, "\(report.table())")
        let comment = report.differences.first { $0.path == "b.tar.gz" && $0.field == "pax global comment" }
        #expect(comment?.a == "(none)" && comment?.b == "by-hand", "\(report.table())")
    }

    @Test func aFileAndADirectoryAreRefused() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "x".write(toFile: dir.appending("f"), atomically: true, encoding: .utf8)
        await #expect(throws: VerifyError.self) { try await diff(dir.path, dir.appending("f")) }
        await #expect(throws: VerifyError.self) { try await diff(dir.appending("f"), dir.appending("missing")) }
    }
}
