import Foundation
import TestSupport
import Testing

@testable import KbuildCore

/// `Beneath` with real symlinks out and real FIFOs: every refusal names the path and what it is, and none
/// blocks (each FIFO case runs under a watchdog that opens the FIFO's other end if the open hangs, so a
/// regression fails the test instead of hanging it).
@Suite final class BeneathTests: Sendable {
    let directory: TemporaryDirectory
    var root: String { directory.appending("tree") }

    deinit { directory.remove() }

    init() throws {
        directory = try TemporaryDirectory("kbuild-beneath")
        try writeFile(directory.appending("tree/bin/kubectl"), "binary\n")
        try writeFile(directory.appending("tree/SHA256SUMS"), "sums\n")
        try writeFile(directory.appending("outside/secret"), "secret\n")
    }

    @Test func readsARegularFileBeneathTheRoot() throws {
        #expect(try Beneath(root).read("bin/kubectl", limit: 100) == Data("binary\n".utf8))
        #expect(try Beneath(root).files() == ["SHA256SUMS", "bin/kubectl"])
        #expect(throws: UnsafeInput(path: root + "/SHA256SUMS", reason: "is larger than 3 bytes")) {
            try Beneath(root).read("SHA256SUMS", limit: 3)
        }
    }

    /// The tree, opened through openat2 or through the per-component fallback.
    func tree(_ openat2: Bool) -> Beneath {
        var tree = Beneath(root)
        tree.openat2 = openat2
        return tree
    }

    @Test(arguments: [true, false])
    func refusesASymlinkOutAsTheFileAndAsADirectoryOnTheWay(openat2: Bool) throws {
        let secret = directory.appending("outside/secret")
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: secret)
        try FileManager.default.createSymbolicLink(
            atPath: root + "/lib", withDestinationPath: directory.appending("outside"))
        let error = #expect(throws: UnsafeInput.self) { try tree(openat2).read("link", limit: 100) }
        #expect(error?.description == "\(root)/link: is a symlink to \(secret)")
        let through = #expect(throws: UnsafeInput.self) { try tree(openat2).read("lib/secret", limit: 100) }
        #expect(through?.reason == "goes through lib, a symlink to \(directory.appending("outside"))")
        #expect(throws: UnsafeInput.self) { try tree(openat2).files() }
        #expect(throws: UnsafeInput.self) { try tree(openat2).read("../outside/secret", limit: 100) }
        // A symlink staying inside is refused too: nothing beneath is reached through a symlink.
        try FileManager.default.createSymbolicLink(atPath: root + "/inside", withDestinationPath: "SHA256SUMS")
        #expect(throws: UnsafeInput.self) { try tree(openat2).read("inside", limit: 100) }
    }

    @Test(arguments: [true, false])
    func namesAFIFOADirectoryAndACharacterDeviceWithoutBlocking(openat2: Bool) async throws {
        let fifo = root + "/fifo.tar.gz"
        #expect(mkfifo(fifo, 0o644) == 0)
        let opened = tree(openat2)
        let error = try await watchdog(releasing: fifo) { () throws(UnsafeInput) in
            _ = try opened.read("fifo.tar.gz", limit: 100)
        }
        #expect(error?.description == "\(fifo): is a FIFO")
        #expect(throws: UnsafeInput(path: root + "/bin", reason: "is a directory")) {
            try tree(openat2).read("bin", limit: 100)
        }
        #expect(throws: UnsafeInput(path: "/dev/zero", reason: "is a character device")) {
            var dev = Beneath("/dev")
            dev.openat2 = openat2
            _ = try dev.read("zero", limit: 100)
        }
        #expect(tree(openat2).describe("nope") == "does not exist")
    }

    @Test func makeDirectoriesRefusesASymlinkedDirectory() throws {
        try FileManager.default.createSymbolicLink(
            atPath: root + "/release", withDestinationPath: directory.appending("outside"))
        #expect(throws: UnsafeInput.self) { try Beneath(root).makeDirectories("release") }
        try Beneath(root).makeDirectories("made/deeper")
        #expect(FileKind.of(root + "/made/deeper").kind == .directory)
    }

    @Test func copiesTheOpenedInodeWhateverTheNameBecomes() throws {
        let file = try Beneath(root).open("bin/kubectl")
        try FileManager.default.removeItem(atPath: root + "/bin/kubectl")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/bin/kubectl", withDestinationPath: directory.appending("outside/secret"))
        try file.copy(to: directory.appending("copy"), mode: 0o755)
        #expect(try String(contentsOfFile: directory.appending("copy"), encoding: .utf8) == "binary\n")
    }

    /// Runs `body` on a thread; if it has not returned after a generous while, records a failure and opens
    /// the FIFO's write end so a blocked open returns. The error `body` threw, if any.
    private func watchdog(releasing fifo: String, _ body: @escaping @Sendable () throws(UnsafeInput) -> Void)
        async throws -> UnsafeInput?
    {
        let work = Task { try await Blocking.run { try body() } }
        let guardTask = Task {
            try await Task.sleep(for: .seconds(60))
            Issue.record("opening \(fifo) blocked")
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        defer { guardTask.cancel() }
        do {
            try await work.value
            return nil
        } catch let error as UnsafeInput {
            return error
        }
    }
}
