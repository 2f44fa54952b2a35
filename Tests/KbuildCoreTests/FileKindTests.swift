import Foundation
import KbuildCore
import TestSupport
import Testing

/// `FileKind`: what a path is, as a value to compare and in the words a message uses.
@Suite struct FileKindTests {
    @Test func kindsOfRealPathsAreValuesWithTheirWords() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try writeFile(dir.appending("file"), "x\n")
        let fifo = dir.appending("fifo")
        try #require(mkfifo(fifo, 0o644) == 0)
        #expect(FileKind.of(dir.appending("file")).kind == .regularFile)
        #expect(FileKind.of(dir.path).kind == .directory)
        #expect(FileKind.of(fifo).kind == .fifo)
        #expect(FileKind.of("/dev/null").kind == .characterDevice)
        let missing = FileKind.of(dir.appending("nope"))
        #expect(missing.kind == nil && missing.reason == String(cString: strerror(ENOENT)))
        #expect("is \(FileKind.fifo)" == "is a FIFO")
        #expect(FileKind.describe(mode: S_IFDIR | 0o755) == "a directory")
    }
}
