import Foundation
import KbuildConfig
import KbuildVersion
import TestSupport
import Testing

@Suite("version.variables: the version fields mapped onto any Go variables")
struct VersionVariablesTests {
    static let tail = "binaries:\n  - name: foo\n    kinds: [client]\n"

    @Test("Without variables, Kubernetes' six names in version.package are stamped and owned")
    func kubernetesDefault() throws {
        let workspace = try Workspace()
        let config = try workspace.load(Self.tail)
        #expect(config.version.stamp == .kubernetes(package: "example.com/mod/pkg/version"))
        #expect(
            config.version.ownedVariables == [
                "example.com/mod/pkg/version.buildDate", "example.com/mod/pkg/version.gitCommit",
                "example.com/mod/pkg/version.gitTreeState", "example.com/mod/pkg/version.gitVersion",
                "example.com/mod/pkg/version.gitMajor", "example.com/mod/pkg/version.gitMinor",
            ])
    }

    @Test("Short names live in version.package; pkg.var and main.var are taken as written, in config order")
    func mapping() throws {
        let workspace = try Workspace()
        let config = try workspace.load(
            """
            version:
              package: example.com/mod/pkg/lib
              variables:
                version: Version
                commit: Revision
                bareVersion: main.version
                buildDate: example.com/mod/pkg/version.buildDate
            \(Self.tail)
            """)
        #expect(
            config.version.ownedVariables == [
                "example.com/mod/pkg/lib.Version", "example.com/mod/pkg/lib.Revision", "main.version",
                "example.com/mod/pkg/version.buildDate",
            ])
        let info = VersionInfo(
            version: "v1.6.2", major: "1", minor: "6", commit: "abc", treeState: "clean",
            buildDate: "2024-01-02T03:04:05Z", source: .git)
        #expect(
            info.ldflagsString(config.version.stamp)
                == "-X 'example.com/mod/pkg/lib.Version=v1.6.2' -X 'example.com/mod/pkg/lib.Revision=abc' -X 'main.version=1.6.2' -X 'example.com/mod/pkg/version.buildDate=2024-01-02T03:04:05Z'"
        )
    }

    @Test("Without go.mod's default package, variables need no version.package when fully named")
    func noPackageNeeded() throws {
        let workspace = try Workspace()
        try FileManager.default.removeItem(atPath: workspace.path + "/pkg/version")
        let config = try workspace.load("version:\n  variables:\n    version: main.version\n" + Self.tail)
        #expect(config.version.ownedVariables == ["main.version"])
    }

    @Test("Mistakes are one positioned line")
    func mistakes() throws {
        let workspace = try Workspace()
        try workspace.expectError(
            "version:\n  variables:\n    gitVersion: main.version\n" + Self.tail, line: 3, column: 5,
            field: "version.variables.gitVersion", "unknown key", "bareVersion")
        try workspace.expectError(
            "version:\n  variables:\n    version: example.com/mod/pkg/nope.Version\n" + Self.tail, line: 3, column: 14,
            field: "version.variables.version", "pkg/nope does not exist")
        try workspace.expectError(
            "version:\n  variables:\n    version: main.9lives\n" + Self.tail, line: 3, column: 14,
            field: "version.variables.version", "not a Go identifier")
        try workspace.expectError(
            "version:\n  variables:\n    version: main.v\n    commit: main.v\n" + Self.tail, line: 4, column: 13,
            field: "version.variables.commit", "main.v already receives version")
        // An empty mapping stamps nothing (a project without a version variable).
        #expect(try workspace.load("version:\n  variables: {}\n" + Self.tail).version.ownedVariables.isEmpty)
    }
}
