import KbuildCore
import KbuildVersion
import Testing

@testable import KbuildGo

/// The version-variable check's record is keyed on a value: what selects and names the variables
/// changes the key; how fast or where-sandboxed the build runs does not.
@Suite struct VersionVariableCheckKeyTests {
    static let stamp = VersionStamp([
        .init(field: .version, package: "example.com/tiny/pkg/version", variable: "gitVersion")
    ])

    static func key(
        go: String = "1.22.1", stamp: VersionStamp = stamp, packages: [String] = ["./cmd/alpha"],
        _ change: (inout GoBuildSettings) -> Void = { _ in }
    ) throws -> String {
        var settings = GoBuildSettings(workspace: "/src/tiny", goState: "/src/tiny/_output/local/go", jobs: 2)
        change(&settings)
        let toolchain = GoToolchain(executable: "/usr/bin/go", version: go, goroot: "/usr/lib/go")
        return try VersionVariableCheck(toolchain: toolchain, settings: settings).cacheKey(stamp, packages)
    }

    @Test func eachInputChangesTheKeyAndJobsOrSandboxDoNot() throws {
        let base = try Self.key()
        #expect(
            try Self.key {
                $0.jobs = 8
                $0.sandbox = .off
            } == base)
        let changed = [
            try Self.key(go: "1.22.2"),
            try Self.key { $0.workspace = "/src/other" },
            try Self.key { $0.modMode = .vendor },
            try Self.key { $0.tags = ["netgo"] },
            try Self.key(packages: ["./cmd/beta"]),
            try Self.key(
                stamp: VersionStamp([
                    .init(field: .commit, package: "example.com/tiny/pkg/version", variable: "gitVersion")
                ])),
            try Self.key(stamp: VersionStamp([.init(field: .version, package: "main", variable: "version")])),
        ]
        #expect(Set(changed).count == changed.count)
        #expect(!changed.contains(base))
    }
}
