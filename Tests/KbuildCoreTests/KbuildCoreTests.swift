import Foundation
import Synchronization
import TestSupport
import Testing

@testable import KbuildCore

@Suite struct ProcessRunnerTests {
    let runner = SubprocessRunner()

    @Test func capturesOutputStatusAndInput() async throws {
        let result = try await runner.run(
            Command("sh", ["-c", "cat; echo err >&2; exit 3"], input: "from stdin"))
        #expect(result.status == 3 && !result.signaled && !result.succeeded)
        #expect(result.stdout == "from stdin")
        #expect(result.stderr == "err\n")
    }

    @Test func streamsStderrLinesAsWrittenAndKeepsTheTail() async throws {
        let lines = Mutex<[String]>([])
        let result = try await runner.run(
            Command("/bin/sh", ["-c", "echo out; echo a >&2; echo 'b c' >&2; printf tail >&2; exit 3"])
        ) { line in lines.withLock { $0.append(String(line)) } }
        #expect(lines.withLock { $0 } == ["a", "b c", "tail"])
        #expect(result.stdout == "out\n" && result.stderr == "a\nb c\ntail" && result.status == 3)
        // Only the last bytes are kept; every line is still handed over.
        var splitter = LineSplitter(keep: 4)
        var seen: [Substring] = []
        Array("one\ntwo\nthree\n".utf8).withUnsafeBytes { splitter.append($0) { seen.append($0) } }
        #expect(seen == ["one", "two", "three"] && splitter.finish { seen.append($0) } == "ree\n")
    }

    @Test func anExactEnvironmentPassesNothingElse() async throws {
        let result = try await runner.check(
            Command("/usr/bin/env", [], environment: .exact(["ONLY": "this"])))
        #expect(result.stdout == "ONLY=this\n")
    }

    @Test func checkThrowsWithTheCommandStatusAndStderrTail() async throws {
        await #expect {
            try await runner.check(Command("sh", ["-c", "echo broken >&2; exit 7"]))
        } throws: { error in
            let text = "\(error)"
            return text.contains("7") && text.contains("broken")
        }
    }

    @Test func aMissingExecutableIsALaunchFailure() async throws {
        await #expect(throws: CommandError.self) {
            try await runner.run(Command("/nonexistent/kbuild-tool", []))
        }
    }

    @Test func lookupSkipsRelativePathEntries() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(ExecutableLookup.find("sh", path: ".:/bin") == "/bin/sh")
        #expect(ExecutableLookup.find("sh", path: ".:" + dir.path) == nil)
    }
}

@Suite struct FileOutputTests {
    @Test func replaceDirectorySwapsWholeAndLeavesNoTemporary() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let target = dir.appending("release-tars")
        try writeFile(target + "/old.txt", "old")
        let staged = FileOutput.temporarySibling(of: target)
        try writeFile(staged + "/new.txt", "new")
        try FileOutput.replaceDirectory(target, with: staged)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["new.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["release-tars"])
    }

    @Test func replaceDirectoryCreatesAMissingTarget() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let staged = dir.appending("staged")
        try writeFile(staged + "/a", "a")
        try FileOutput.replaceDirectory(dir.appending("target"), with: staged)
        #expect(FileManager.default.fileExists(atPath: dir.appending("target/a")))
        #expect(!FileManager.default.fileExists(atPath: staged))
    }

    @Test func leftoversOfInterruptedRunsAreRemovedAndNothingElse() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try writeFile(FileOutput.temporarySibling(of: dir.appending("x.tar.gz")), "partial")
        try writeFile(dir.appending("keep.tar.gz"), "whole")
        FileOutput.removeLeftovers(in: dir.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.tar.gz"])
    }

    @Test func writeAllWritesEveryByteAndReportsErrno() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.appending("out")
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        let bytes = pseudoRandomBytes(count: 3 << 20)
        #expect(bytes.withUnsafeBytes { FileDescriptorIO.writeAll(fd, $0) } == nil)
        close(fd)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes))
        #expect(bytes.withUnsafeBytes { FileDescriptorIO.writeAll(-1, $0) } == EBADF)
    }
}

@Suite struct ConcurrencyTests {
    @Test func concurrentMapKeepsOrderAndBoundsConcurrency() async throws {
        let running = Mutex((now: 0, peak: 0))
        let results = try await concurrentMap(Array(0..<20), limit: 3) { item in
            running.withLock { state in
                state.now += 1
                state.peak = max(state.peak, state.now)
            }
            try await Task.sleep(for: .milliseconds(5))
            running.withLock { $0.now -= 1 }
            return item * 2
        }
        #expect(results == (0..<20).map { $0 * 2 })
        #expect(running.withLock { $0.peak } == 3)
    }

    @Test func concurrentMapRethrowsTheFirstErrorAfterTheOthersFinish() async throws {
        struct Boom: Error {}
        let finished = Mutex(0)
        await #expect(throws: Boom.self) {
            _ = try await concurrentMap(Array(0..<6), limit: 6) { item in
                if item == 2 { throw Boom() }
                try? await Task.sleep(for: .milliseconds(20))
                finished.withLock { $0 += 1 }
                return item
            }
        }
        // Every started task ran its course before the error left.
        #expect(finished.withLock { $0 } == 5)
    }

    @Test func blockingWorkRunsOnAThreadOfItsOwn() async throws {
        let onMain = await Blocking.run { Thread.isMainThread }
        #expect(!onMain)
        await #expect(throws: CocoaError.self) { try await Blocking.run { throw CocoaError(.fileNoSuchFile) } }
        // The error keeps its type: a caller with typed throws needs no cast.
        struct Refusal: Error { let reason: String }
        do throws(Refusal) {
            _ = try await Blocking.run { () throws(Refusal) -> Int in throw Refusal(reason: "typed") }
            Issue.record("the error was lost")
        } catch {
            #expect(error.reason == "typed")
        }
    }
}
