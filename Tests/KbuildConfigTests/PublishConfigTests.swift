import Foundation
import KbuildConfig
import TestSupport
import Testing

/// `publish.registry`, `publish.upload` and `publish.caFile`: checked as image registries, URL prefixes and
/// PEM files, with FILE:LINE:COL.
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
            "unknown key \"regisry\" in publish; allowed: registry, upload, caFile")
    }

    /// `caFile` is relative to the config and must hold a PEM certificate, checked when the config loads.
    @Test func theCAFileIsRelativeToTheConfigAndMustBePEM() throws {
        let workspace = try Workspace()
        try workspace.write("release/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        let config = try workspace.load(binaries + "publish:\n  caFile: ca.pem\n")
        #expect(config.publish.caFile == workspace.path + "/release/ca.pem")
        try workspace.expectError(
            binaries + "publish:\n  caFile: missing.pem\n", line: 5, column: 11, field: "publish.caFile",
            "\"missing.pem\" cannot be read: No such file or directory; allowed: a PEM file of CA certificates")
        try workspace.write("release/notpem.txt", "hello\n")
        try workspace.expectError(
            binaries + "publish:\n  caFile: notpem.txt\n", line: 5, column: 11, field: "publish.caFile",
            "holds no PEM certificate")
        try workspace.expectError(
            binaries + "publish:\n  caFile: ..\n", line: 5, column: 11, field: "publish.caFile", "is not a regular file"
        )
    }
}
