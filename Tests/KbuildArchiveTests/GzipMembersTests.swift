import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

@testable import KbuildArchive

/// `TarReader` inflates kbuild's gzip (members of at most 1 MiB) with libdeflate, member by member, and
/// streams any other gzip with zlib; hostile members are refused, named by their offset.
@Suite struct GzipMembersTests {
    /// Every entry's path → sha256 of its data (links and directories: their kind), read by `TarReader`.
    func contents(_ path: String) throws -> [String: String] {
        let reader = try TarReader(path: path)
        var found: [String: String] = [:]
        while let header = try reader.next() {
            var hasher = Digest.Hasher(.sha256)
            try reader.readData { hasher.update($0) }
            found[header.path] = header.kind == .file ? hasher.finalize().hex : "\(header.kind)"
        }
        return found
    }

    /// A hostile gzip written by python3's zlib: `kind` (see the script) into `out`; the offset of the bad member.
    func hostile(_ kind: String, _ out: String) async throws -> Int {
        let script = """
            import gzip, struct, sys, tarfile
            kind, out = sys.argv[1], sys.argv[2]
            def member(data): return bytearray(gzip.compress(data, compresslevel=6, mtime=0))
            info = tarfile.TarInfo("payload")
            info.size = (64 << 20) if kind == "bomb" else 4096
            first = member(info.tobuf(format=tarfile.GNU_FORMAT))
            second = member(bytes(info.size + 1024))
            if kind == "claims4GiB": second[-4:] = struct.pack("<I", 0xFFFFFFFF)
            if kind == "badCRC": second[-8] ^= 1
            if kind == "cut": second = second[:len(second) // 2]
            open(out, "wb").write(first + second)
            print(len(first))
            """
        let printed = try await Tool.check("python3", ["-c", script, kind, out])
        return try #require(Int(printed.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func kbuildsMembersAndPigzsOneMemberReadTheSame() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try FastGzipTests().makeTree(in: dir)
        let ours = dir.appending("out/fast.tar.gz")
        _ = try Tarball.write(try TarEntry.tree(of: root, under: "k"), to: ours, options: FastGzipTests.options())
        let foreign = dir.appending("out/pigz.tar.gz")
        try await Tool.check("sh", ["-c", "gzip -dc \"$1\" | pigz -6 > \"$2\"", "sh", ours, foreign])
        // kbuild's file goes to libdeflate; pigz's one 6 MiB member is more than the cap: zlib streams it.
        #expect(try GzipMembers.open(ours) != nil)
        #expect(try GzipMembers.open(foreign) == nil)
        let read = try contents(ours)
        #expect(read.count == 16)
        #expect(read == (try contents(foreign)))
        // GNU tar agrees on the names.
        let listed = try await Tool.check("tar", ["-tzf", ours]).split(separator: "\n").map {
            String($0.hasSuffix("/") ? $0.dropLast() : $0)
        }
        #expect(Set(listed) == Set(read.keys.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }))
    }

    @Test func gnuGzipsSmallMemberIsReadByLibdeflate() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try TarballWriterTests().makeTree(in: dir, name: "stage", umask: 0o022)
        let plain = dir.appending("small.tar")
        try await Tool.check("tar", ["--sort=name", "-cf", plain, "-C", root, "."])
        try await Tool.check("gzip", ["-9", "-k", plain])
        let gnu = plain + ".gz"
        // A foreign member within the cap is read by libdeflate just the same.
        #expect(try GzipMembers.open(gnu) != nil)
        #expect(try contents(gnu) == (try contents(plain)))
        #expect(try GzipMembers.open(plain) == nil)
    }

    @Test(arguments: [
        ("bomb", "inflates to more than 1 MiB"), ("claims4GiB", "is corrupt"), ("badCRC", "is corrupt"),
        ("cut", "is corrupt or cut short"),
    ])
    func aHostileMemberIsRefusedByItsOffset(kind: String, what: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.appending("\(kind).tar.gz")
        let offset = try await hostile(kind, path)
        #expect(try GzipMembers.open(path) != nil)
        do {
            _ = try contents(path)
            Issue.record("\(kind) was read")
        } catch let error as ArchiveError {
            guard case .corrupt(let archive, let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(archive == path)
            #expect(reason.hasPrefix("gzip member at byte \(offset) \(what)"), "\(reason)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func aFirstMemberOverTheCapIsStreamedByZlib() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.appending("nested.tar.gz")
        try await Tool.check("python3", [Repository.root + "/Tests/Fixtures/bombs.py", "nested", "\(8 << 20)", path])
        #expect(try GzipMembers.open(path) == nil)
        #expect(try contents(path).keys.sorted() == ["kubernetes/server/bin/kube-proxy.tar"])
    }
}
