import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

@Suite struct TarballWriterTests {
    static let epoch = try! SourceDate(seconds: 1_700_000_000)
    static let longName = String(repeating: "long-directory-name/", count: 6) + "file-with-a-name-over-100-bytes.txt"

    /// A staged tree with an executable, a unicode name, a space, a long path, a symlink.
    func makeTree(in dir: TemporaryDirectory, name: String, umask newMask: mode_t) throws -> String {
        let root = dir.appending(name)
        let fm = FileManager.default
        let old = umask(newMask)
        defer { umask(old) }
        try fm.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/docs/über", withIntermediateDirectories: true)
        try "#!/bin/sh\necho hi\n".write(toFile: root + "/bin/tool", atomically: false, encoding: .utf8)
        chmod(root + "/bin/tool", 0o700)
        try "ünïcødé\n".write(toFile: root + "/docs/über/naïve file.txt", atomically: false, encoding: .utf8)
        try fm.createDirectory(
            atPath: root + "/" + (Self.longName as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try "long\n".write(toFile: root + "/" + Self.longName, atomically: false, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/bin/alias", withDestinationPath: "tool")
        return root
    }

    @Test func gnuTarReadsOwnersTimesModesAndContent() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try makeTree(in: dir, name: "stage", umask: 0o077)
        let out = dir.appending("out/test.tar.gz")
        let written = try Tarball.write(
            try TarEntry.tree(of: root, under: "kubernetes"), to: out,
            options: TarOptions(compression: .gzip(level: 6), mtime: Self.epoch))

        #expect(written.size == Int64(try FileManager.default.attributesOfItem(atPath: out)[.size] as! Int))
        let sha = try await Tool.check("sha256sum", [out]).split(separator: " ")[0]
        #expect(try written.digests.sha256(of: out).hex == String(sha))

        let listing = try await Tool.check(
            "tar", ["--numeric-owner", "--full-time", "-tvzf", out], environment: ["TZ": "UTC", "LC_ALL": "C.UTF-8"])
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines.count == 14)
        for line in lines {
            #expect(line.contains(" 0/0 "), "owner: \(line)")
            #expect(line.contains("2023-11-14 22:13:20"), "mtime: \(line)")
        }
        #expect(lines.contains { $0.hasPrefix("-rwxr-xr-x") && $0.hasSuffix("kubernetes/bin/tool") })
        #expect(lines.contains { $0.hasPrefix("lrwxrwxrwx") && $0.hasSuffix("kubernetes/bin/alias -> tool") })
        #expect(lines.contains { $0.hasPrefix("-rw-r--r--") && $0.hasSuffix("kubernetes/docs/über/naïve file.txt") })
        #expect(lines.contains { $0.hasSuffix("kubernetes/" + Self.longName) })
        // Parents before children, sorted.
        let paths = lines.map { $0.split(separator: " ", maxSplits: 6).last.map(String.init) ?? "" }
        #expect(paths.first == "kubernetes/")

        let unpacked = dir.appending("unpacked")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        try await Tool.check("tar", ["-xzf", out, "-C", unpacked])
        for file in ["bin/tool", "docs/über/naïve file.txt", Self.longName] {
            #expect(
                FileManager.default.contentsEqual(atPath: root + "/" + file, andPath: unpacked + "/kubernetes/" + file),
                "\(file)")
        }
    }

    @Test func sameInputsGiveIdenticalBytesWhateverTheSourceDirectory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try makeTree(in: dir, name: "a", umask: 0o022)
        let second = try makeTree(in: dir, name: "second-clone/deeper", umask: 0o077)
        // Different source mtimes too.
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1)], ofItemAtPath: second + "/bin/tool")
        var outputs: [Data] = []
        for (root, name) in [(first, "one.tar.gz"), (second, "two.tar.gz")] {
            let written = try Tarball.write(
                try TarEntry.tree(of: root, under: "kubernetes"), to: dir.appending(name),
                options: TarOptions(compression: .gzip(level: 6), mtime: Self.epoch))
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: written.path)))
        }
        #expect(outputs[0] == outputs[1])
        // gzip header: no FNAME flag, MTIME zero.
        let header = [UInt8](outputs[0].prefix(10))
        #expect(header[0] == 0x1f && header[1] == 0x8b)
        #expect(header[3] & 0x08 == 0)
        #expect(header[4..<8].allSatisfy { $0 == 0 })
    }

    @Test func readerRoundTripsHeadersAndData() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let out = dir.appending("layer.tar")
        try Tarball.write(
            [.data("usr/local/bin/app", "binary", executable: true), .data("etc/config", "x=1\n")], to: out,
            options: TarOptions(compression: .none, mtime: Self.epoch))
        let reader = try TarReader(path: out)
        var seen: [String: String] = [:]
        var paths: [String] = []
        while let header = try reader.next() {
            paths.append(header.path)
            #expect(header.uid == 0 && header.gid == 0 && header.mtime == Self.epoch.seconds)
            if header.kind == .file { seen[header.path] = String(decoding: try reader.readAll(), as: UTF8.self) }
        }
        #expect(paths == ["etc/", "etc/config", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/app"])
        #expect(seen == ["etc/config": "x=1\n", "usr/local/bin/app": "binary"])
        // Uncompressed tars are padded to a whole 10240-byte block, like GNU tar's.
        #expect(try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int == 10240)
    }

    @Test func failedWriteLeavesNothingBehind() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let out = dir.appending("broken.tar.gz")
        #expect(throws: ArchiveError.self) {
            try Tarball.write(
                [.file("a", source: dir.appending("missing"), executable: false)], to: out,
                options: TarOptions(compression: .gzip(level: 6), mtime: Self.epoch))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func duplicateEntriesAreRejected() {
        #expect(throws: ArchiveError.duplicateEntry(archive: "tarball", entry: "a/b")) {
            _ = try [TarEntry.data("a/b", "1"), .data("./a//b", "2")].normalizedForArchive()
        }
    }

    @Test func symlinksLeavingTheTreeAreRejected() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.appending("t/sub"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.appending("t/sub/out"), withDestinationPath: "../../etc")
        #expect(throws: ArchiveError.self) { _ = try TarEntry.tree(of: dir.appending("t"), under: "x") }
        #expect(SafePath.staysInside("a/../b") && !SafePath.staysInside("a/../../b") && !SafePath.staysInside("/etc"))
        #expect(SafePath.linkStaysInside(linkPath: "a/b", target: "../c"))
        #expect(!SafePath.linkStaysInside(linkPath: "a/b", target: "/etc/passwd"))
    }

    @Test func corruptArchiveIsAClearError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let out = dir.appending("t.tar.gz")
        try Tarball.write(
            [.data("big", pseudoRandomBytes(count: 200_000))], to: out,
            options: TarOptions(compression: .gzip(level: 1), mtime: Self.epoch))
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: out))
        #expect(throws: ArchiveError.self) {
            let reader = try TarReader(path: out)
            while try reader.next() != nil { _ = try reader.readAll() }
        }
    }
}
