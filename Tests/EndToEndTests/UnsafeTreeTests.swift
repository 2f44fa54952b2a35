import Foundation
import KbuildCore
import TestSupport
import Testing

/// Trees kbuild did not write, read as a hostile user leaves them: symlinks out, FIFOs, devices and
/// directories where files belong. Nothing is followed or opened blocking, each is named with what it is.
/// Every run is bounded by `timeout`, so a regression that blocks on a FIFO fails instead of hanging.
@Suite(.serialized) struct UnsafeTreeTests {
    /// `kbuild` under coreutils' `timeout` (a generous bound: a blocked open is the only way to reach it).
    static func bounded(_ arguments: [String], in directory: String, _ extra: [String: String?] = [:]) async throws
        -> CommandResult
    {
        let result = try await Tool.run(
            "timeout", ["--signal=KILL", "300", Repository.kbuildBinary] + arguments, in: directory,
            environment: GoodRelease.environment.merging(extra) { $1 })
        #expect(result.status != 137, "kbuild \(arguments) blocked and was killed")
        return result
    }

    /// The FAIL lines of a verify run.
    static func failures(_ result: CommandResult) -> [String] {
        result.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("FAIL") }
    }

    @Test func verifyNamesSymlinksFIFOsDevicesAndDirectoriesAndNeverOpensThem() async throws {
        let fixture = try await Fixture("unsafe-verify")
        defer { fixture.cleanup() }
        let tars = fixture.releaseTars
        let client = "kubernetes-client-linux-amd64.tar.gz"
        let outside = fixture.directory.appending("outside.tar.gz")
        try FileManager.default.moveItem(atPath: tars + "/" + client, toPath: outside)

        // A symlink out, to the very bytes the sums expect: refused all the same.
        try FileManager.default.createSymbolicLink(atPath: tars + "/" + client, withDestinationPath: outside)
        var result = try await Self.bounded(["verify"], in: fixture.workspace)
        #expect(result.status == 1)
        #expect(
            Self.failures(result).contains(
                "FAIL files      \(client): is a symlink to \(outside); allowed: regular files only"),
            "\(result.stdout)")
        #expect(
            Self.failures(result).contains(
                "FAIL artifacts  \(client): listed in artifacts.json, but is a symlink to \(outside)"))

        // A FIFO: named, never opened (a blocking open would hang here until the timeout).
        try FileManager.default.removeItem(atPath: tars + "/" + client)
        #expect(mkfifo(tars + "/" + client, 0o644) == 0)
        result = try await Self.bounded(["verify"], in: fixture.workspace)
        #expect(result.status == 1)
        #expect(Self.failures(result).contains("FAIL files      \(client): is a FIFO; allowed: regular files only"))
        #expect(
            Self.failures(result).contains(
                "FAIL sha256     \(client): listed in SHA256SUMS, but is a FIFO; allowed: a regular file"))

        // A directory: what it is, not "release bookkeeping".
        try FileManager.default.removeItem(atPath: tars + "/" + client)
        try FileManager.default.createDirectory(atPath: tars + "/" + client, withIntermediateDirectories: false)
        result = try await Self.bounded(["verify"], in: fixture.workspace)
        #expect(
            Self.failures(result).contains("FAIL files      \(client): is a directory; allowed: regular files only"))
        #expect(!result.stdout.contains("bookkeeping"), "\(result.stdout)")
        try FileManager.default.removeItem(atPath: tars + "/" + client)
        try FileManager.default.moveItem(atPath: outside, toPath: tars + "/" + client)

        // /dev/zero as SHA256SUMS (a character device) and as artifacts.json (a symlink): not "missing".
        let sums = fixture.directory.appending("SHA256SUMS")
        try FileManager.default.moveItem(atPath: tars + "/SHA256SUMS", toPath: sums)
        try await Tool.check("mknod", [tars + "/SHA256SUMS", "c", "1", "5"])
        try FileManager.default.moveItem(
            atPath: tars + "/artifacts.json", toPath: fixture.directory.appending("a.json"))
        try FileManager.default.createSymbolicLink(atPath: tars + "/artifacts.json", withDestinationPath: "/dev/zero")
        result = try await Self.bounded(["verify"], in: fixture.workspace)
        #expect(
            Self.failures(result).contains(
                "FAIL sha256     SHA256SUMS: is a character device; allowed: a regular file"), "\(result.stdout)")
        #expect(
            Self.failures(result).contains(
                "FAIL artifacts  artifacts.json: is a symlink to /dev/zero; allowed: a regular file"))
        #expect(!result.stdout.contains("missing"), "\(result.stdout)")
    }

    @Test func verifyNamesACRLFSumsFileOnceAndADuplicatedLine() async throws {
        let fixture = try await Fixture("unsafe-sums")
        defer { fixture.cleanup() }
        let sums = fixture.releaseTars + "/SHA256SUMS"
        let good = try String(contentsOfFile: sums, encoding: .utf8)
        try good.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: sums, atomically: true, encoding: .utf8)
        var result = try await Self.bounded(["verify"], in: fixture.workspace)
        #expect(
            Self.failures(result) == [
                "FAIL sha256     SHA256SUMS: has CRLF line endings (from line 1); allowed: LF line endings as sha256sum writes"
            ], "\(result.stdout)")

        let first = try #require(good.split(separator: "\n").first)
        try (good + first + "\n").write(toFile: sums, atomically: true, encoding: .utf8)
        result = try await Self.bounded(["verify"], in: fixture.workspace)
        let lines = good.split(separator: "\n").count
        let name = first.dropFirst(66)
        #expect(
            Self.failures(result) == [
                "FAIL sha256     SHA256SUMS: line \(lines + 1) lists \"\(name)\" again; allowed: each file once"
            ], "\(result.stdout)")
    }

    @Test func initDoesNotWriteThroughAReleaseSymlinkOut() async throws {
        let fixture = try await Fixture("unsafe-init")
        defer { fixture.cleanup() }
        let outside = fixture.directory.appending("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.removeItem(atPath: fixture.workspace + "/release")
        try fixture.symlink("release", to: outside)
        let result = try await Self.bounded(["init", "--force"], in: fixture.workspace)
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "error: \(fixture.workspace)/release: is a symlink to \(outside); allowed: a directory of the repository, not a symlink\n"
        )
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    }

    @Test func diffNamesAFIFOAndDoesNotFollowASymlink() async throws {
        let fixture = try await Fixture("unsafe-diff")
        defer { fixture.cleanup() }
        let copy = fixture.directory.appending("copy")
        try await Tool.check("cp", ["-a", fixture.releaseTars, copy])
        #expect(mkfifo(copy + "/extra.fifo", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: copy + "/passwd", withDestinationPath: "/etc/passwd")
        let result = try await Self.bounded(["diff", fixture.releaseTars, copy], in: fixture.workspace)
        #expect(result.stdout.contains("extra.fifo"), "\(result.stdout)")
        #expect(result.stdout.contains("is a FIFO"), "\(result.stdout)")
        #expect(result.stdout.contains("is a symlink to /etc/passwd"), "\(result.stdout)")
        #expect(!result.stdout.contains("root:x:0:0"), "\(result.stdout)")
    }
}
