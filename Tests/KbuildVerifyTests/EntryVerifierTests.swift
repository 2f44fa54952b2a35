import Foundation
import KbuildArtifact
import KbuildCore
import TestSupport
import Testing

@testable import KbuildVerify

/// `EntryVerifier` (verify's check of a planned archive's entries) on small archives written by GNU tar
/// and Python's zipfile from a staged tree, one tampering each: each asserts the entry path and the kind
/// of problem (`EntryProblem`), and that the report names `<archive>!<entry>`.
@Suite struct EntryVerifierTests {
    static let platform = Platform(os: "linux", arch: "amd64")

    /// The plan: a binary (0755), a generated file (0644), an empty directory and the one file of a
    /// workspace tree (the plan lists trees file by file).
    static func plan(_ format: ArchiveFormat) -> PlannedArchive {
        PlannedArchive(
            name: "tool-linux-amd64" + format.suffix, kind: .archive, format: format, platform: platform,
            stageDirectory: "tool",
            entries: [
                .binary("tool", platform, at: "tool-v1/bin/tool"),
                .generated("v1\n", at: "tool-v1/VERSION"),
                ArchiveEntry(path: "tool-v1/empty", type: .directory, mode: 0o755, source: .directory),
                .workspace(
                    .treeFile(path: "docs/guide/a.md", tree: "docs"), executable: false,
                    at: "tool-v1/Documentation/guide/a.md"),
            ])
    }

    /// The staged tree the plan describes, under `dir/stage`.
    func stage(_ dir: TemporaryDirectory) async throws -> String {
        let root = dir.appending("stage")
        for directory in ["tool-v1/bin", "tool-v1/empty", "tool-v1/Documentation/guide"] {
            try FileManager.default.createDirectory(
                atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        try writeFile(root + "/tool-v1/bin/tool", "#!/bin/sh\n")
        try writeFile(root + "/tool-v1/VERSION", "v1\n")
        try writeFile(root + "/tool-v1/Documentation/guide/a.md", "# a\n")
        try await Tool.check("sh", ["-c", "chmod -R u=rwX,go=rX \"$1\"", "sh", root])
        #expect(chmod(root + "/tool-v1/bin/tool", 0o755) == 0)
        return root
    }

    /// `root` packed as `format` by a real tool: GNU tar (gzip) or Python's zipfile (modes and links kept).
    func pack(_ root: String, _ format: ArchiveFormat, in dir: TemporaryDirectory) async throws -> String {
        let out = dir.appending("tool-linux-amd64" + format.suffix)
        switch format {
        case .zip:
            let script = """
                import os, stat, sys, zipfile
                root, out = sys.argv[1], sys.argv[2]
                with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
                    for base, dirs, files in os.walk(root):
                        dirs.sort()
                        for name in sorted(dirs) + sorted(files):
                            path = os.path.join(base, name)
                            rel = os.path.relpath(path, root)
                            st = os.lstat(path)
                            info = zipfile.ZipInfo(rel + ("/" if stat.S_ISDIR(st.st_mode) else ""))
                            info.create_system = 3
                            info.external_attr = (st.st_mode & 0xFFFF) << 16
                            data = os.readlink(path) if stat.S_ISLNK(st.st_mode) else (
                                b"" if stat.S_ISDIR(st.st_mode) else open(path, "rb").read())
                            z.writestr(info, data)
                """
            try await Tool.check("python3", ["-c", script, root, out])
        default:
            try await Tool.check("tar", ["--sort=name", "--owner=0", "--group=0", "-czf", out, "-C", root, "tool-v1"])
        }
        return out
    }

    /// The problems verify finds in `root` packed as `format`, as (entry, kind, found type).
    func problems(_ root: String, _ format: ArchiveFormat, in dir: TemporaryDirectory) async throws -> [Found] {
        let path = try await pack(root, format, in: dir)
        let verifier = EntryVerifier(archive: Self.plan(format))
        let problems = verifier.problems(try EntryVerifier.read(path, format: format))
        // The report names each one as `<archive>!<entry>`, failed.
        let failed = verifier.verify(path).filter { $0.status == .fail }.map(\.subject)
        #expect(failed == problems.map { "\(Self.plan(format).name)!\($0.path)" })
        return problems.map { Found(path: $0.path, problem: $0.problem) }
    }

    struct Found: Equatable, CustomStringConvertible {
        var path: String
        var problem: EntryProblem
        var description: String { "\(path): \(problem)" }
    }

    static let formats: [ArchiveFormat] = [.tarGz, .zip]

    @Test(arguments: formats) func theStagedTreePasses(format: ArchiveFormat) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await stage(dir)
        #expect(try await problems(root, format, in: dir) == [])
        let checks = EntryVerifier(archive: Self.plan(format)).verify(try await pack(root, format, in: dir))
        #expect(checks.map(\.status) == [.ok])
    }

    @Test(arguments: formats) func aMissingEntryIsNamed(format: ArchiveFormat) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await stage(dir)
        try FileManager.default.removeItem(atPath: root + "/tool-v1/VERSION")
        #expect(
            try await problems(root, format, in: dir) == [
                Found(path: "tool-v1/VERSION", problem: .missing(planned: .file))
            ])
    }

    @Test(arguments: formats) func anExtraEntryIsNamed(format: ArchiveFormat) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await stage(dir)
        try writeFile(root + "/tool-v1/notes.txt", "not planned\n")
        #expect(chmod(root + "/tool-v1/notes.txt", 0o644) == 0)
        #expect(
            try await problems(root, format, in: dir) == [
                Found(
                    path: "tool-v1/notes.txt",
                    problem: .unplanned(found: FoundEntry(path: "tool-v1/notes.txt", type: .file, mode: 0o644)))
            ])
    }

    @Test(arguments: formats) func aReModedEntryIsNamed(format: ArchiveFormat) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await stage(dir)
        #expect(chmod(root + "/tool-v1/bin/tool", 0o700) == 0)
        #expect(
            try await problems(root, format, in: dir) == [
                Found(path: "tool-v1/bin/tool", problem: .remoded(found: 0o700, planned: 0o755))
            ])
    }

    @Test(arguments: formats) func aRetypedEntryIsNamed(format: ArchiveFormat) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await stage(dir)
        // A directory where the plan has the binary.
        try FileManager.default.removeItem(atPath: root + "/tool-v1/bin/tool")
        try FileManager.default.createDirectory(atPath: root + "/tool-v1/bin/tool", withIntermediateDirectories: false)
        #expect(chmod(root + "/tool-v1/bin/tool", 0o755) == 0)
        #expect(
            try await problems(root, format, in: dir) == [
                Found(
                    path: "tool-v1/bin/tool",
                    problem: .retyped(
                        found: FoundEntry(path: "tool-v1/bin/tool", type: .directory, mode: 0o755), planned: .file))
            ])
    }

    @Test(arguments: formats) func aLinkWhereThePlanHasAFileIsNamed(format: ArchiveFormat) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await stage(dir)
        try FileManager.default.removeItem(atPath: root + "/tool-v1/VERSION")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/tool-v1/VERSION", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/tool-v1/Documentation/guide/shadow", withDestinationPath: "/etc/shadow")
        let found = try await problems(root, format, in: dir)
        #expect(found.map(\.path) == ["tool-v1/VERSION", "tool-v1/Documentation/guide/shadow"], "\(found)")
        guard found.count == 2 else { return }
        // The planned file: retyped to a symlink; the link beside the tree's file: not in the plan.
        guard case .retyped(let version, .file) = found[0].problem, case .unplanned(let shadow) = found[1].problem
        else {
            Issue.record("\(found)")
            return
        }
        #expect(version.type == .symlink && shadow.type == .symlink)
        // Tar keeps the target; the zip reader reports the link without reading it.
        if format == .tarGz { #expect(version.target == "/etc/passwd" && shadow.target == "/etc/shadow") }
    }

    @Test func aHardlinkInATarIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await stage(dir)
        // GNU tar stores the second name of one inode (in name order) as a hardlink to the first.
        #expect(link(root + "/tool-v1/bin/tool", root + "/tool-v1/Documentation/guide/tool") == 0)
        let found = try await problems(root, .tarGz, in: dir)
        // The second name is not in the plan either: named as an unplanned file.
        #expect(found.map(\.path) == ["tool-v1/bin/tool", "tool-v1/Documentation/guide/tool"], "\(found)")
        guard case .retyped(let entry, .file) = found.first?.problem else {
            Issue.record("\(found)")
            return
        }
        #expect(entry.type == .hardlink && entry.target == "tool-v1/Documentation/guide/tool")
    }
}
