import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

@testable import KbuildArchive

@Suite struct ZipWriterTests {
    static let epoch = FastGzipTests.epoch

    static func options(pool: DeflatePool? = FastGzipTests.pool, level: Int = 6) -> ZipOptions {
        ZipOptions(mtime: epoch, level: level, pool: pool)
    }

    /// The awkward tree of the tar tests (executable, symlink, non-ASCII and long names) plus a
    /// compressible text and an incompressible random payload, both large enough for the pool.
    func makeZip(in dir: TemporaryDirectory, name: String = "out/release.zip", pool: DeflatePool? = FastGzipTests.pool)
        throws -> (root: String, zip: String, written: WrittenArchive)
    {
        let root = try FastGzipTests().makeTree(in: dir)
        let zip = dir.appending(name)
        let written = try Zip.write(
            try TarEntry.tree(of: root, under: "kubernetes"), to: zip, options: Self.options(pool: pool))
        return (root, zip, written)
    }

    @Test func identicalFromTwoDirectoriesAndAnyPool() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        defer {
            first.remove()
            second.remove()
        }
        let reference = try makeZip(in: first, pool: nil)
        let expected = try Data(contentsOf: URL(fileURLWithPath: reference.zip))
        let other = try FastGzipTests().makeTree(in: second)
        chmod(other + "/docs/text.txt", 0o600)  // another umask: the mode is normalized anyway
        for threads in [1, 2, 5] {
            let pool = DeflatePool(threads: threads)
            defer { pool.shutdown() }
            let zip = second.appending("out-\(threads)/release.zip")
            try Zip.write(try TarEntry.tree(of: other, under: "kubernetes"), to: zip, options: Self.options(pool: pool))
            #expect(try Data(contentsOf: URL(fileURLWithPath: zip)) == expected, "\(threads) threads")
        }
        #expect(reference.written.size == Int64(expected.count))
        #expect(try reference.written.digests.sha256(of: reference.zip) == Digest.of(expected, .sha256))
    }

    @Test func unzipZipinfoAndPythonReadIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (root, zip, _) = try makeZip(in: dir)
        try await Tool.check("unzip", ["-tq", zip])
        let listing = try await Tool.check("unzip", ["-l", zip])
        #expect(listing.contains("16 files"))

        let info = try await Tool.check("zipinfo", ["-T", zip], environment: ["TZ": "America/New_York"])
        let lines = info.split(separator: "\n").map(String.init).filter { $0.contains("kubernetes") }
        #expect(lines.count == 16)
        #expect(lines.allSatisfy { $0.contains(" unx ") && $0.contains("20231114.221320") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("-rwxr-xr-x") && $0.hasSuffix("kubernetes/bin/tool") })
        #expect(lines.contains { $0.hasPrefix("lrwxrwxrwx") && $0.hasSuffix("kubernetes/bin/alias") })
        #expect(lines.contains { $0.hasPrefix("-rw-r--r--") && $0.hasSuffix("kubernetes/docs/text.txt") })
        #expect(lines.contains { $0.hasPrefix("drwxr-xr-x") && $0.hasSuffix("kubernetes/docs/über/") })
        // Compressible text deflated, random bytes stored.
        #expect(lines.contains { $0.contains(" defN ") && $0.hasSuffix("docs/text.txt") })
        #expect(lines.contains { $0.contains(" stor ") && $0.hasSuffix("bin/random") })

        let script = """
            import hashlib, json, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            out = []
            for i in z.infolist():
                out.append({"name": i.filename, "size": i.file_size, "mode": i.external_attr >> 16,
                            "crc": i.CRC, "system": i.create_system, "extra": len(i.extra), "time": list(i.date_time),
                            "sha256": hashlib.sha256(z.read(i)).hexdigest()})
            print(json.dumps(out))
            """
        let json = try await Tool.check("python3", ["-c", script, zip])
        let members = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [[String: Any]]
        let ours = try ZipReader.entries(path: zip)
        #expect(members.count == ours.count)
        for (member, entry) in Swift.zip(members, ours) {
            let name = member["name"] as! String
            #expect(name == (entry.isDirectory ? entry.path + "/" : entry.path))
            #expect(member["size"] as! Int == Int(entry.size))
            #expect(member["crc"] as! Int == Int(entry.crc32))
            #expect((member["mode"] as! Int) & 0o7777 == Int(entry.mode))
            #expect(member["system"] as? Int == 3 && member["extra"] as? Int == 0)
            #expect(member["time"] as! [Int] == [2023, 11, 14, 22, 13, 20])
            if !entry.isDirectory && !entry.isSymlink {
                let source = root + "/" + entry.path.dropFirst("kubernetes/".count)
                let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
                #expect(member["sha256"] as! String == Digest.of(bytes, .sha256).hex, "\(name)")
                #expect(entry.crc32 == bytes.withUnsafeBytes { crc32Reference($0) })
            }
        }
        #expect(ours.first { $0.path == "kubernetes/bin/alias" }?.isSymlink == true)
        #expect(ours.first { $0.path == "kubernetes/bin/tool" }?.mode == 0o755)
    }

    @Test func unzipOnUnixKeepsModesAndLinks() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (root, zip, _) = try makeZip(in: dir)
        let unpacked = dir.appending("unpacked")
        try await Tool.check("unzip", ["-q", zip, "-d", unpacked])
        let base = unpacked + "/kubernetes"
        for (path, mode) in [("bin/tool", 0o755), ("docs/text.txt", 0o644), ("bin", 0o755), ("docs/über", 0o755)] {
            var info = stat()
            #expect(lstat(base + "/" + path, &info) == 0)
            #expect(Int(info.st_mode & 0o7777) == mode, "\(path)")
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: base + "/bin/alias") == "tool")
        for file in [
            "bin/tool", "bin/random", "docs/text.txt", "docs/über/naïve file.txt", TarballWriterTests.longName,
        ] {
            #expect(FileManager.default.contentsEqual(atPath: root + "/" + file, andPath: base + "/" + file), "\(file)")
        }
    }

    @Test func refusesWhatWouldNeedZip64AndLeavesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let big = dir.appending("big")
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        #expect(truncate(big, 4 << 30) == 0)  // sparse: costs no disk
        let zip = dir.appending("out/big.zip")
        #expect(throws: ArchiveError.self) {
            try Zip.write([.file("big", source: big, executable: true)], to: zip, options: Self.options())
        }
        do {
            try Zip.write([.file("big", source: big, executable: true)], to: zip, options: Self.options())
        } catch {
            #expect(error.description.contains("\"big\" is 4294967296 bytes"))
            #expect(error.description.contains("zip64"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appending("out")).isEmpty)
        #expect(throws: ArchiveError.self) { try ZipWriter(path: zip, options: Self.options(level: 13)) }
    }

    // MARK: hostile input for ZipReader

    /// A small valid zip with one member named `aa/evil` to patch.
    func smallZip(in dir: TemporaryDirectory) throws -> (path: String, bytes: [UInt8]) {
        let path = dir.appending("small.zip")
        try Zip.write([.data("aa/evil", "payload\n"), .data("b", "bee\n")], to: path, options: Self.options(pool: nil))
        return (path, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    func patched(_ bytes: [UInt8], in dir: TemporaryDirectory, _ change: (inout [UInt8]) -> Void) throws -> String {
        var copy = bytes
        change(&copy)
        let path = dir.appending("patched-\(UUID().uuidString).zip")
        try Data(copy).write(to: URL(fileURLWithPath: path))
        return path
    }

    func offset(of pattern: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int {
        (start...(bytes.count - pattern.count)).first { Array(bytes[$0..<($0 + pattern.count)]) == pattern }!
    }

    func put32(_ value: UInt32, at index: Int, in bytes: inout [UInt8]) {
        for k in 0..<4 { bytes[index + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
    }

    @Test func readerRejectsHostileZips() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, bytes) = try smallZip(in: dir)
        #expect(try ZipReader.entries(path: path).map(\.path) == ["aa", "aa/evil", "b"])
        let central = offset(of: [0x50, 0x4b, 1, 2], in: bytes)
        let end = offset(of: [0x50, 0x4b, 5, 6], in: bytes)

        let name = offset(of: Array("aa/evil".utf8), in: bytes, from: central)
        let climbing = try patched(bytes, in: dir) { bytes in
            for (index, byte) in Array("../evil".utf8).enumerated() { bytes[name + index] = byte }
        }
        let hugeCount = try patched(bytes, in: dir) { bytes in
            for at in [end + 8, end + 10] { (bytes[at], bytes[at + 1]) = (0xfe, 0xff) }
        }
        let badSize = try patched(bytes, in: dir) { put32(0x7fff_0000, at: central + 20, in: &$0) }
        let badDirectory = try patched(bytes, in: dir) { put32(0xffff_fff0, at: end + 12, in: &$0) }
        let truncated = try patched(Array(bytes[0..<(bytes.count - 30)]), in: dir) { _ in }
        let cases: [(String, String)] = [
            (climbing, "path leaves the archive root"), (hugeCount, "entries cannot fit"),
            (badSize, "sizes or offset do not fit"), (badDirectory, "runs past its end record"),
            (truncated, "no end of central directory record"),
        ]
        for (hostile, message) in cases {
            do {
                _ = try ZipReader.entries(path: hostile)
                Issue.record("\(message): read without an error")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }

        let fifo = dir.appending("fifo.zip")
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: ArchiveError.self) { try ZipReader.entries(path: fifo) }
        let link = dir.appending("link.zip")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(throws: ArchiveError.self) { try ZipReader.entries(path: link) }
    }
}

/// Bitwise CRC-32 (IEEE), the oracle for libdeflate's.
func crc32Reference(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
