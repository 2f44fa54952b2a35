import Foundation
import KbuildArtifact
import KbuildConfig
import KbuildCore
import KbuildGo
import TestSupport
import Testing

@testable import KbuildRelease

/// The planner lists every file of the workspace trees it ships, walked once, bounded, and never out of
/// the workspace.
@Suite struct WorkspaceListingTests {
    @Test func thePlanListsEachTreeFileWithItsMode() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let full = try #require(fixture.plan.archives.first { $0.kind == .full })
        let files = full.entries.filter { if case .treeFile = $0.source { true } else { false } }
        #expect(
            files.map { "\($0.path) \(String($0.mode ?? 0, radix: 8))" } == [
                "kubernetes/cluster/addons/dns.yaml 644", "kubernetes/LICENSES/LICENSE 644",
            ])
        let server = try #require(fixture.plan.archives.first { $0.kind == .server })
        #expect(
            server.entries.contains(
                .workspace(
                    .treeFile(path: "cluster/addons/dns.yaml", tree: "cluster/addons"), executable: false,
                    at: "kubernetes/addons/dns.yaml")))
        // Only git's tree stays a tree: planning it file by file would read the whole commit.
        let trees = fixture.plan.archives.flatMap(\.entries).filter { $0.type == .tree }
        #expect(trees.map(\.source) == [.gitTree])
    }

    @Test func stageCopiesThePlansFilesAndRefusesOneThatChangedSincePlanned() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        // A file added after planning is not staged: the release is what the plan lists.
        try writeFile(fixture.plan.workspace + "/cluster/late.txt", "late\n")
        _ = try await fixture.pipeline().release()
        let staged = fixture.plan.layout.releaseStage + "/full/kubernetes/cluster"
        #expect(FileManager.default.fileExists(atPath: staged + "/addons/dns.yaml"))
        #expect(!FileManager.default.fileExists(atPath: staged + "/late.txt"))
        let license = fixture.plan.workspace + "/LICENSES/LICENSE"
        chmod(license, 0o755)
        await #expect(
            throws: ReleaseError.conflict(
                "\(Escaping.shown(license)) changed its executable bit after the release was planned; release again")
        ) { _ = try await fixture.pipeline().release() }
    }

    @Test func executableFilesAreListed0755AndTheWalkIsSorted() throws {
        let dir = try TemporaryDirectory("kbuild-listing")
        defer { dir.remove() }
        try writeFile(dir.appending("tree/b/run.sh"), "#!/bin/sh\n")
        chmod(dir.appending("tree/b/run.sh"), 0o755)
        try writeFile(dir.appending("tree/a.txt"), "a\n")
        try writeFile(dir.appending("tree/c"), "c\n")
        mkfifo(dir.appending("tree/fifo"), 0o644)
        let files = try WorkspaceTree.files(of: dir.appending("tree"), workspace: dir.path)
        #expect(
            files == [
                .init(path: "a.txt", executable: false), .init(path: "b/run.sh", executable: true),
                .init(path: "c", executable: false),
            ])
        #expect(
            try WorkspaceTree.files(of: dir.appending("tree/a.txt"), workspace: dir.path) == [
                .init(path: "", executable: false)
            ])
    }

    @Test func aSymlinkOutOfTheWorkspaceIsRefusedAndADanglingOneLeftOut() throws {
        let dir = try TemporaryDirectory("kbuild-listing")
        defer { dir.remove() }
        try writeFile(dir.appending("ws/tree/ok"), "ok\n")
        try writeFile(dir.appending("secret"), "secret\n")
        try FileManager.default.createSymbolicLink(
            atPath: dir.appending("ws/tree/gone"), withDestinationPath: dir.appending("ws/nothing"))
        #expect(try WorkspaceTree.files(of: dir.appending("ws/tree"), workspace: dir.appending("ws")).count == 1)
        try FileManager.default.createSymbolicLink(
            atPath: dir.appending("ws/tree/evil"), withDestinationPath: dir.appending("secret"))
        #expect(
            throws: ReleaseError.unsafeInput(
                path: dir.appending("ws/tree/evil"), reason: WorkspaceTree.outsideReason(dir.appending("secret")))
        ) {
            try WorkspaceTree.files(of: dir.appending("ws/tree"), workspace: dir.appending("ws"))
        }
    }

    @Test func aSymlinkLoopAndATreePastTheLimitAreRefused() throws {
        let dir = try TemporaryDirectory("kbuild-listing")
        defer { dir.remove() }
        for name in ["a", "b", "c"] { try writeFile(dir.appending("tree/\(name)"), "\(name)\n") }
        #expect(throws: ReleaseError.self) {
            try WorkspaceTree.files(of: dir.appending("tree"), workspace: dir.path, limit: 2)
        }
        #expect(try WorkspaceTree.files(of: dir.appending("tree"), workspace: dir.path, limit: 3).count == 3)
        try FileManager.default.createSymbolicLink(atPath: dir.appending("tree/up"), withDestinationPath: "..")
        #expect(throws: ReleaseError.self) {
            try WorkspaceTree.files(of: dir.appending("tree"), workspace: dir.path)
        }
    }
}

/// `go tool dist list` is asked once per Go executable, version and GOROOT, then read back.
@Suite struct KnownPlatformsTests {
    @Test func goIsAskedOnceAndItsAnswerReadBackUntilTheRecordIsUnreadable() async throws {
        let dir = try TemporaryDirectory("kbuild-platforms")
        defer { dir.remove() }
        let runner = SubprocessRunner()
        let go = try await GoToolchain.locate(runner: runner, environment: ProcessInfo.processInfo.environment)
        let asked = try #require(await ReleaseLoader.knownPlatforms(go, runner: runner, cache: dir.path))
        #expect(asked == (try await go.distList(runner: runner)))
        let records = try FileManager.default.contentsOfDirectory(atPath: dir.appending("go-platforms"))
        try #require(records.count == 1)
        let record = dir.appending("go-platforms/" + records[0])
        // What the record says is what planning uses: Go was not asked again.
        try writeFile(record, "linux/amd64\n")
        #expect(await ReleaseLoader.knownPlatforms(go, runner: runner, cache: dir.path) == [Platform("linux/amd64")!])
        // A record that does not parse is asked for again and rewritten.
        try writeFile(record, "linux/amd64\nnot a platform\n")
        #expect(await ReleaseLoader.knownPlatforms(go, runner: runner, cache: dir.path) == asked)
        #expect(try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n").count == asked.count)
    }
}
