import Foundation
import KbuildConfig
import TestSupport
import Testing

/// `publish.registry` and `publish.upload`: checked as image registries and URL prefixes, with FILE:LINE:COL.
@Suite("Publish config")
struct PublishConfigTests {
    let binaries = "binaries:\n  - name: foo\n    kinds: [client]\n"

    @Test func bothKeysAreReadAndOptional() throws {
        let workspace = try Workspace()
        #expect(try workspace.load(binaries).publish == ReleaseConfig.Publish())
        let config = try workspace.load(
            binaries + "publish:\n  registry: localhost:5000/team\n  upload: https://files.example/releases\n")
        #expect(config.publish.registry == "localhost:5000/team")
        #expect(config.publish.upload == "https://files.example/releases")
    }

    @Test func badValuesNameTheirPlace() throws {
        let workspace = try Workspace()
        try workspace.expectError(
            binaries + "publish:\n  registry: Bad_Host:5000\n", line: 5, column: 13, field: "publish.registry",
            "\"Bad_Host:5000\": ")
        try workspace.expectError(
            binaries + "publish:\n  upload: ftp://files.example\n", line: 5, column: 11, field: "publish.upload",
            "\"ftp://files.example\" is not a URL prefix; allowed: http(s)://host[:port]/path")
        try workspace.expectError(
            binaries + "publish:\n  upload: https://me:secret@files.example\n", line: 5, column: 11,
            field: "publish.upload", "without credentials")
        try workspace.expectError(
            binaries + "publish:\n  regisry: x\n", line: 5, column: 3, field: "publish.regisry",
            "unknown key \"regisry\" in publish; allowed: registry, upload")
    }
}
