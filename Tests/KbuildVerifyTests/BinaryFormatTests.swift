import Foundation
import KbuildVerify
import TestSupport
import Testing

/// Binary formats and architectures of real Go cross-builds, as verify reads them.
@Suite struct BinaryFormatTests {
    @Test(arguments: [
        ("linux", "amd64", "ELF amd64"), ("linux", "arm64", "ELF arm64"), ("linux", "arm", "ELF arm"),
        ("linux", "386", "ELF 386"), ("linux", "ppc64le", "ELF ppc64le"), ("linux", "s390x", "ELF s390x"),
        ("windows", "amd64", "PE amd64"), ("windows", "arm64", "PE arm64"), ("darwin", "arm64", "Mach-O arm64"),
        ("darwin", "amd64", "Mach-O amd64"),
    ])
    func detectsWhatGoBuilt(os: String, arch: String, expected: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "module example.com/hello\n\ngo 1.19\n".write(
            toFile: dir.appending("go.mod"), atomically: true, encoding: .utf8)
        try "package main\n\nfunc main() {}\n".write(
            toFile: dir.appending("main.go"), atomically: true, encoding: .utf8)
        try await Tool.check(
            "go", ["build", "-trimpath", "-buildvcs=false", "-o", "out", "."], in: dir.path,
            environment: [
                "GOOS": os, "GOARCH": arch, "CGO_ENABLED": "0", "GOFLAGS": nil,
                "GOCACHE": NSTemporaryDirectory() + "/kbuild-test-gocache",
            ])
        let head = try Array(
            Data(contentsOf: URL(fileURLWithPath: dir.appending("out"))).prefix(BinaryFormat.headerSize))
        let format = try #require(BinaryFormat.detect(head))
        #expect(format.description == expected)
        #expect(format == BinaryFormat.expected(os: os, arch: arch))
    }

    @Test func textIsNoBinary() {
        #expect(BinaryFormat.detect(Array("#!/bin/sh\necho hi\n".utf8)) == nil)
        #expect(BinaryFormat.detect([]) == nil)
    }
}
