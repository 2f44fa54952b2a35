import Foundation
import KbuildCore
import KbuildVerify
import TestSupport
import Testing

/// The record that lets `kbuild publish` skip verifying an unchanged release: it matches the release as
/// it was, nothing else, and is read back as hostile input.
@Suite struct VerificationRecordTests {
    /// A small `_output`: release-tars with a file, release-images/amd64 with an image tarball.
    func output(in dir: TemporaryDirectory) throws -> String {
        let output = dir.appending("_output")
        try FileManager.default.createDirectory(
            atPath: output + "/release-images/amd64", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: output + "/release-tars", withIntermediateDirectories: true)
        try writeFile(output + "/release-tars/SHA256SUMS", "0000  kubernetes.tar.gz\n")
        try writeFile(output + "/release-images/amd64/kube-proxy.tar", "not really a tar")
        return output
    }

    func current(_ output: String, config: String = "c") -> VerificationRecord? {
        VerificationRecord.current(output: output, workspace: nil, tool: "0.1.0", config: config)
    }

    @Test func aRecordMatchesTheReleaseAsItWasAndNothingElse() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try output(in: dir)
        let path = VerificationRecord.path(cache: dir.appending("cache"), output: output)
        let record = try #require(current(output))
        #expect(!record.isRecorded(at: path), "nothing is recorded before a pass")
        record.write(to: path)
        #expect(try #require(current(output)).isRecorded(at: path))
        #expect(try !#require(current(output, config: "other")).isRecorded(at: path), "another config")

        // The same bytes written in place, the old mtime put back: only the ctime moved.
        let image = output + "/release-images/amd64/kube-proxy.tar"
        let mtime = try #require(try FileManager.default.attributesOfItem(atPath: image)[.modificationDate] as? Date)
        let handle = try #require(FileHandle(forUpdatingAtPath: image))  // in place: the same inode
        try handle.write(contentsOf: Data("not really a tar".utf8))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: image)
        #expect(try !#require(current(output)).isRecorded(at: path))

        // A file added to the release changes the record too.
        try #require(current(output)).write(to: path)
        try writeFile(output + "/release-tars/extra.txt", "x")
        #expect(try !#require(current(output)).isRecorded(at: path))
    }

    @Test func aRecordIsReadAsHostileInput() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try output(in: dir)
        let path = VerificationRecord.path(cache: dir.appending("cache"), output: output)
        let record = try #require(current(output))

        // A symlink in place of the record, to a record that matches: not followed.
        let elsewhere = dir.appending("elsewhere.json")
        record.write(to: elsewhere)
        try FileManager.default.createDirectory(atPath: Paths.parent(of: path), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: elsewhere)
        #expect(!record.isRecorded(at: path))

        // Larger than any record: not read.
        try FileManager.default.removeItem(atPath: path)
        try Data(count: VerificationRecord.maxBytes + 1).write(to: URL(fileURLWithPath: path))
        #expect(!record.isRecorded(at: path))
        try writeFile(path, "{\"format\": 1}")
        #expect(!record.isRecorded(at: path))
    }
}
