import Foundation
import KbuildConfig
import KbuildCore
import TestSupport
import Testing

/// A small Go workspace in a temp dir (removed when released), to load configs written by a test against.
final class Workspace {
    let directory: TemporaryDirectory
    var path: String { directory.path }
    var configFile: String { path + "/release/kbuild.yaml" }

    init() throws {
        directory = try TemporaryDirectory("kbuild-config")
        try write("go.mod", "module example.com/mod\n\ngo 1.19\n")
        try write("cmd/foo/main.go", "package main\n\nfunc main() {}\n")
        try write("cmd/bar/main.go", "// Command bar.\npackage main // the binary\n\nfunc main() {}\n")
        try write("pkg/version/base.go", "package version\n\nvar gitVersion = \"v0.1-dev\"\n")
        try write("pkg/lib/lib.go", "package lib\n")
        try write("pkg/lib/lib_test.go", "package main\n")
        try write("pkg/empty/README.md", "no Go here\n")
        try write("cluster/addons/dns/dns-1.0.yaml", "kind: Service\n")
        try write("images/base.tar", "not really a tarball, only its existence matters here\n")
    }

    deinit { directory.remove() }

    func write(_ relative: String, _ contents: String) throws {
        try writeFile(path + "/" + relative, contents)
    }

    /// Writes `yaml` as the config and loads it against the fallback platform list.
    func load(_ yaml: String) throws -> ReleaseConfig {
        try write("release/kbuild.yaml", yaml)
        return try ConfigLoader.load(file: configFile, workspace: path, knownPlatforms: ReleaseConfig.knownPlatforms)
    }

    /// Loads `yaml`, which must fail, and returns the error.
    func failure(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigError {
        let error = #expect(throws: ConfigError.self, sourceLocation: sourceLocation) { try load(yaml) }
        return try #require(error, sourceLocation: sourceLocation)
    }

    /// Loads `yaml` and expects an error at `line:column` in `field` whose message holds every one of `texts`.
    func expectError(
        _ yaml: String, line: Int, column: Int, field: String, _ texts: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let error = try failure(yaml, sourceLocation: sourceLocation)
        guard case let .invalid(file, errorLine, errorColumn, errorField, _) = error else {
            Issue.record("expected a positioned error, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(file == configFile, sourceLocation: sourceLocation)
        #expect(
            errorLine == line && errorColumn == column, "at \(errorLine):\(errorColumn): \(error)",
            sourceLocation: sourceLocation)
        #expect(errorField == field, "\(error)", sourceLocation: sourceLocation)
        let description = error.description
        #expect(
            description.hasPrefix("\(configFile):\(line):\(column): "), "\(description)", sourceLocation: sourceLocation
        )
        if !field.isEmpty {
            #expect(description.contains(" \(field): "), "\(description)", sourceLocation: sourceLocation)
        }
        #expect(!description.contains("\n"), "one line: \(description)", sourceLocation: sourceLocation)
        for text in texts {
            #expect(description.contains(text), "\(description) should contain \(text)", sourceLocation: sourceLocation)
        }
    }
}

/// The smallest valid config: one server binary, everything else defaulted.
let minimalYAML = """
    binaries:
      - name: foo
        kinds: [server]

    """
