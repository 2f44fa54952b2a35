import Foundation
import KbuildArtifact
import KbuildConfig
import KbuildCore
import TestSupport
import Testing

/// `archives:` and `sums:`: a configured layout is read completely and every mistake is positioned.
@Suite("Layout config")
struct LayoutConfigTests {
    let workspace: Workspace

    init() throws {
        workspace = try Workspace()
        try workspace.write("README.md", "# readme\n")
        try workspace.write("LICENSE", "MIT\n")
        try workspace.write("docs/guide.md", "# guide\n")
    }

    /// Two client binaries on two platforms; `archives:` is line 8, its first item line 9.
    let base = """
        platforms:
          client: [linux/amd64, windows/amd64]
        binaries:
          - name: foo
            kinds: [client]
          - name: bar
            kinds: [client]
        archives:

        """

    @Test func aLayoutIsReadWithEveryField() throws {
        let config = try workspace.load(
            base + """
                  - name: "{{project}}_{{os | title}}_{{arch | uname}}"
                    binaries: [client]
                    platforms: [linux/amd64]
                    formats: {windows: zip}
                    wrap: "tool-{{version}}"
                    binaryPath: "bin/{{binary}}"
                    files: ["LICENSE*", {src: README.md, dst: README-tool.md}, docs]
                    generated: [{dst: version, content: "{{version}}\\n"}]
                    checksums: [sha256sum, sha512]
                sums: {sha256: checksums.txt}

                """)
        let archive = try #require(config.archives?.first)
        #expect(archive.name.render([.project: "tool", .os: "linux", .arch: "amd64"]) == "tool_Linux_x86_64")
        #expect(archive.binaries == ["foo", "bar"])
        #expect(archive.platforms == [Platform(os: "linux", arch: "amd64")])
        #expect(archive.format(on: "windows") == .zip && archive.format(on: "linux") == .tarGz)
        #expect(
            archive.files == [
                .init(source: "LICENSE", destination: "LICENSE"),
                .init(source: "README.md", destination: "README-tool.md"),
                .init(source: "docs", destination: "docs", isTree: true),
            ])
        #expect(archive.generated.map(\.destination) == ["version"])
        #expect(archive.checksums == [.sha256sum, .sha512])
        #expect(config.sums == ReleaseConfig.Sums(sha256: "checksums.txt", sha512: nil))
    }

    @Test func withoutArchivesTheKubernetesLayoutStays() throws {
        let config = try workspace.load(minimalYAML)
        #expect(config.archives == nil)
        #expect(config.sums == ReleaseConfig.Sums())
    }

    @Test func aTemplateNamingAnUnknownFieldOrFunction() throws {
        try workspace.expectError(
            base + "  - name: \"x-{{Os}}\"\n", line: 9, column: 11, field: "archives[0].name",
            "unknown field \"Os\"", "allowed: project, version, bareVersion, os, arch, binary")
        try workspace.expectError(
            base + "  - name: \"x-{{os | upper}}\"\n", line: 9, column: 11, field: "archives[0].name",
            "unknown function \"upper\"", "allowed: title, uname")
        try workspace.expectError(
            base + "  - name: \"x-{{os}\"\n", line: 9, column: 11, field: "archives[0].name", "without its closing")
        // One name for several binaries cannot name one of them.
        try workspace.expectError(
            base + "  - name: \"{{binary}}-{{os}}\"\n", line: 9, column: 11, field: "archives[0].name",
            "{{binary}} names one binary", "allowed: project, version, bareVersion, os, arch")
    }

    @Test func formatsAndChecksumsAreChoices() throws {
        try workspace.expectError(
            base + "  - name: x-{{os}}\n    format: rar\n", line: 10, column: 13, field: "archives[0].format",
            "unknown value \"rar\"", "allowed: tar.gz, zip, binary")
        try workspace.expectError(
            base + "  - name: x-{{os}}\n    formats: {windows: 7z}\n", line: 10, column: 24,
            field: "archives[0].formats.windows", "unknown value \"7z\"")
        try workspace.expectError(
            base + "  - name: x-{{os}}\n    checksums: [md5]\n", line: 10, column: 17,
            field: "archives[0].checksums[0]", "unknown value \"md5\"", "allowed: sha256, sha512, sha256sum")
    }

    @Test func twoArchivesWithOneName() throws {
        try workspace.expectError(
            base + "  - name: same-{{os}}-{{arch}}\n  - name: same-{{os}}-{{arch}}\n", line: 10, column: 5,
            field: "archives[1].name", "names same-linux-amd64.tar.gz as archives[0] does")
        // Without {{os}}/{{arch}}, the platforms of one archive collide.
        try workspace.expectError(
            base + "  - name: tool\n", line: 9, column: 5, field: "archives[0].name",
            "names tool.tar.gz as archives[0] does")
    }

    @Test func anArchiveThatWouldBeEmpty() throws {
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    binaries: []\n", line: 9, column: 5, field: "archives[0]",
            "the archive would be empty")
        try workspace.expectError(
            base + "  []\n", line: 9, column: 3, field: "archives", "empty", "leave archives out for Kubernetes' layout"
        )
    }

    @Test func twoEntriesAtOnePath() throws {
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    files: [README.md, {src: LICENSE, dst: README.md}]\n", line: 9,
            column: 5, field: "archives[0]", "two entries would be at README.md")
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    binaries: [foo]\n    generated: [{dst: foo, content: x}]\n",
            line: 9, column: 5, field: "archives[0]", "two entries would be at foo")
    }

    @Test func aPathThatLeavesTheArchiveRoot() throws {
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    binaryPath: \"../{{binary}}\"\n", line: 10, column: 17,
            field: "archives[0].binaryPath", "leaves the archive root")
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    files: [{src: README.md, dst: /etc/README}]\n", line: 10,
            column: 35, field: "archives[0].files[0].dst", "leaves the archive root")
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    wrap: \"a/../..\"\n", line: 10, column: 11,
            field: "archives[0].wrap", "leaves the archive root")
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    files: [../outside]\n", line: 10, column: 13,
            field: "archives[0].files[0]", "must be a path inside the workspace")
    }

    @Test func binariesPlatformsAndFilesMustExist() throws {
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    binaries: [baz]\n", line: 10, column: 16,
            field: "archives[0].binaries[0]", "unknown binary \"baz\"", "allowed: the binaries' names (foo, bar)")
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    platforms: [darwin/arm64]\n", line: 10, column: 17,
            field: "archives[0].platforms[0]", "darwin/arm64 is not a configured platform",
            "allowed: linux/amd64, windows/amd64")
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    files: [CHANGES.md]\n", line: 10, column: 13,
            field: "archives[0].files[0]", "CHANGES.md does not exist in the workspace")
        try workspace.expectError(
            base + "  - name: x-{{os}}-{{arch}}\n    binaryPath: bin/tool\n", line: 10, column: 17,
            field: "archives[0].binaryPath", "puts every binary at one path")
    }

    @Test func sumsNamesAreFileNames() throws {
        try workspace.expectError(
            minimalYAML + "sums: {sha256: ../SUMS}\n", line: 4, column: 16, field: "sums.sha256",
            "is not a safe file name")
        try workspace.expectError(
            minimalYAML + "sums: {sha512: SHA512SUMS}\n", line: 4, column: 7, field: "sums.sha256", "required")
    }

    @Test func imageNamesAreTemplatesWithTheBinary() throws {
        let config = try workspace.load(minimalYAML + "images: {name: \"{{project}}/{{binary}}\"}\n")
        #expect(config.images.name?.render([.project: "kubernetes", .binary: "foo"]) == "kubernetes/foo")
        try workspace.expectError(
            minimalYAML + "images: {name: \"{{project}}\"}\n", line: 4, column: 16, field: "images.name",
            "is not an image repository for each binary", "{{binary}}")
        try workspace.expectError(
            minimalYAML + "images: {name: \"{{Binary}}\"}\n", line: 4, column: 16, field: "images.name",
            "unknown field \"Binary\"")
    }
}
