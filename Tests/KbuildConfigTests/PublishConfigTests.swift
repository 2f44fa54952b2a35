import Foundation
import KbuildArtifact
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
            "unknown key \"regisry\" in publish; allowed: registry, upload, caFile, tags")
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

    /// `publish.tags`: templates of the index's tags, rendered per binary with `+` as `_`; absent, the
    /// version tag alone (nil).
    @Test func tagsAreTemplatesRenderedPerBinary() throws {
        let workspace = try Workspace()
        #expect(try workspace.load(binaries).publish.tags == nil)
        let config = try workspace.load(
            binaries + "publish:\n  tags: [\"{{version}}\", latest, \"{{project}}-{{bareVersion}}-{{binary}}\"]\n")
        let tags = try #require(config.publish.tags)
        #expect(tags.map(\.description) == ["{{version}}", "latest", "{{project}}-{{bareVersion}}-{{binary}}"])
        #expect(
            ReleaseConfig.Publish.render(tags, project: "kubernetes", version: "v1.4.0+build.7", binary: "kubectl")
                == ["v1.4.0_build.7", "latest", "kubernetes-1.4.0_build.7-kubectl"])
    }

    @Test func badTagsNameTheirPlace() throws {
        let workspace = try Workspace()
        try workspace.expectError(
            binaries + "publish:\n  tags: []\n", line: 5, column: 9, field: "publish.tags",
            "empty; allowed: one tag or more")
        try workspace.expectError(
            binaries + "publish:\n  tags: [\"{{Version}}\"]\n", line: 5, column: 10, field: "publish.tags[0]",
            "\"{{Version}}\": unknown field \"Version\"; allowed: project, version")
        try workspace.expectError(
            binaries + "publish:\n  tags: [\"{{version}}-{{arch}}\"]\n", line: 5, column: 10,
            field: "publish.tags[0]",
            "{{arch}} is not known for an index over every platform; allowed: project, version, bareVersion, binary")
        try workspace.expectError(
            binaries + "publish:\n  tags: [latest, \"v{{bareVersion}}\", \"{{version}}\"]\n", line: 5, column: 38,
            field: "publish.tags[2]",
            "\"{{version}}\" names the same tag as \"v{{bareVersion}}\"; allowed: each tag once")
        try workspace.expectError(
            binaries + "publish:\n  tags: [\"-{{version}}\"]\n", line: 5, column: 10, field: "publish.tags[0]",
            "\"-{{version}}\" renders \"-v1.2.3-rc.1_a1b2\", not an OCI tag; allowed: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
        )
        try workspace.expectError(
            binaries + "publish:\n  tags: \"{{version}}\"\n", line: 5, column: 9, field: "publish.tags",
            "expected a list of strings")
    }
}
