import Foundation
import KbuildCore
import TestSupport
import Testing

@testable import KbuildRelease

/// The stat shortcut in front of the workspace digest: same answer as hashing everything, and every change seen.
@Suite(.serialized) struct SourceIndexTests {
    func digest(_ workspace: String) throws -> SourceIndex.Outcome {
        try SourceIndex.digest(workspace, indexPath: workspace + "/_output/cache/source-index")
    }

    /// Files old enough to be trusted: the index then skips them (a fixed past time, as after a checkout long ago).
    func age(_ path: String) {
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, path, &times, 0)
    }

    @Test func agreesWithFullHashingAndSkipsUnchangedFiles() async throws {
        let dir = try TemporaryDirectory("kbuild-index")
        defer { dir.remove() }
        let repo = try await GitRepository.create(at: dir.appending("ws"))
        for index in 0..<50 { try repo.write("pkg/p\(index)/f.go", "package p\(index)\n") }
        try repo.write("bin/run.sh", "#!/bin/sh\n")
        chmod(repo.path + "/bin/run.sh", 0o755)
        symlink("../pkg/p1", repo.path + "/bin/link")
        let first = try digest(repo.path)
        #expect(first.digest == (try WorkspaceDigest.compute(repo.path)))
        #expect(first.files == 51 && first.hashed == 51)
        // Just written: racy, so hashed again; once old, skipped.
        #expect(try digest(repo.path).hashed == 51)
        for index in 0..<50 { age(repo.path + "/pkg/p\(index)/f.go") }
        age(repo.path + "/bin/run.sh")
        _ = try digest(repo.path)  // records the aged signatures (ctime is still recent: hashed)
        sleep(1)
        _ = try digest(repo.path)
        let settled = try digest(repo.path)
        #expect(settled.hashed == 0, "unchanged old files were read again")
        #expect(settled.digest == first.digest)

        // An edit of the same size keeping the old mtime: the ctime and the racy rule still catch it.
        try "package pX\n".write(toFile: repo.path + "/pkg/p3/f.go", atomically: false, encoding: .utf8)
        age(repo.path + "/pkg/p3/f.go")
        let edited = try digest(repo.path)
        #expect(edited.digest != first.digest)
        #expect(edited.digest == (try WorkspaceDigest.compute(repo.path)))
        #expect(edited.hashed == 1)
        // Mode, removal and symlink target changes too.
        chmod(repo.path + "/pkg/p4/f.go", 0o755)
        #expect(try digest(repo.path).digest == (try WorkspaceDigest.compute(repo.path)))
        unlink(repo.path + "/bin/link")
        symlink("../pkg/p2", repo.path + "/bin/link")
        #expect(try digest(repo.path).digest == (try WorkspaceDigest.compute(repo.path)))
        unlink(repo.path + "/pkg/p5/f.go")
        #expect(try digest(repo.path).digest == (try WorkspaceDigest.compute(repo.path)))
    }

    @Test func sameSecondEditsAreSeen() throws {
        let dir = try TemporaryDirectory("kbuild-racy")
        defer { dir.remove() }
        let file = dir.appending("a.go")
        for round in 0..<20 {
            // Two same-size writes in quick succession, indexed in between: every one must be seen.
            try "package a // \(round % 10)a\n".write(toFile: file, atomically: false, encoding: .utf8)
            let before = try digest(dir.path)
            try "package a // \(round % 10)b\n".write(toFile: file, atomically: false, encoding: .utf8)
            let after = try digest(dir.path)
            #expect(before.digest != after.digest, "round \(round): a same-tick edit went unseen")
            #expect(after.digest == (try WorkspaceDigest.compute(dir.path)))
        }
    }

    @Test func racyRuleTrustsOnlyEntriesOlderThanTheIndexingRun() {
        let now: Int64 = 1_700_000_000_000_000_000
        func signature(_ mtime: Int64, _ ctime: Int64) -> FileSignature {
            .init(size: 1, mtime: mtime, ctime: ctime, inode: 1, device: 1, mode: 0o100644)
        }
        #expect(signature(now - 5_000_000_000, now - 5_000_000_000).isSettled(indexedAt: now))
        #expect(!signature(now, now - 5_000_000_000).isSettled(indexedAt: now))
        #expect(!signature(now - 5_000_000_000, now - 500_000_000).isSettled(indexedAt: now))
        #expect(!signature(now + 1, now + 1).isSettled(indexedAt: now))
    }

    @Test func checkoutOfAnotherCommitIsSeen() async throws {
        let dir = try TemporaryDirectory("kbuild-checkout")
        defer { dir.remove() }
        let repo = try await GitRepository.create(at: dir.appending("ws"))
        try repo.write("main.go", "package main // one\n")
        try repo.write("other.go", "package main\n")
        try await repo.commitAll("one")
        try repo.write("main.go", "package main // two\n")  // same size
        try await repo.commitAll("two")
        let two = try digest(repo.path)
        try await repo.git("checkout", "-q", "HEAD~1")
        let one = try digest(repo.path)
        #expect(one.digest != two.digest)
        #expect(one.digest == (try WorkspaceDigest.compute(repo.path)))
        try await repo.git("checkout", "-q", "main")
        #expect(try digest(repo.path).digest == two.digest)
    }

    /// The index is read in walk order; an added first file, a removed middle one, a cut or a garbled
    /// index must neither hide a change nor cost more than the files that changed.
    @Test func lookupsSurviveAddedRemovedFilesAndDamagedIndexes() throws {
        let dir = try TemporaryDirectory("kbuild-index-order")
        defer { dir.remove() }
        let index = dir.path + "/_output/cache/source-index"
        for number in 10..<40 {
            try "package f\(number)\n".write(toFile: dir.appending("f\(number).go"), atomically: false, encoding: .utf8)
        }
        usleep(1_100_000)  // older than the racy margin of the next run
        #expect(try digest(dir.path).hashed == 30)
        #expect(try digest(dir.path).hashed == 0)
        try "package a\n".write(toFile: dir.appending("a.go"), atomically: false, encoding: .utf8)
        unlink(dir.appending("f20.go"))
        let changed = try digest(dir.path)
        #expect(changed.hashed == 1 && changed.files == 30)
        #expect(changed.digest == (try WorkspaceDigest.compute(dir.path)))
        let recorded = try Data(contentsOf: URL(fileURLWithPath: index))
        try recorded.prefix(recorded.count / 2).write(to: URL(fileURLWithPath: index))
        let cut = try digest(dir.path)
        #expect(cut.digest == changed.digest && cut.hashed > 0 && cut.hashed < 30)
        try Data("kbuild-source-index-v1 12\nf10.go\u{0}1 2 3\n\u{0}\u{0}garbage".utf8).write(
            to: URL(fileURLWithPath: index))
        let garbled = try digest(dir.path)
        #expect(garbled.digest == changed.digest && garbled.hashed == 30)
    }
}
