import Foundation
import KbuildConfig
import KbuildCore
import TestSupport
import Testing

/// Every config mistake names file:line:column of the offending node, the field, the value and what is allowed.
@Suite("Config errors")
struct ConfigErrorTests {
    let workspace: Workspace

    init() throws {
        workspace = try Workspace()
    }

    // MARK: YAML itself

    @Test func malformedYAMLUsesYamsPosition() throws {
        try workspace.expectError(
            "binaries:\n\t- name: foo\n", line: 2, column: 1, field: "",
            "malformed YAML", "cannot start any token")
        try workspace.expectError(
            "project: x\nbinaries: [foo\n", line: 3, column: 1, field: "", "malformed YAML")
    }

    @Test func duplicateYAMLKey() throws {
        try workspace.expectError(
            "project: a\nbinaries: []\nproject: b\n", line: 1, column: 1, field: "", "duplicate key \"project\"")
    }

    @Test func emptyDocument() throws {
        try workspace.expectError(
            "# nothing\n", line: 1, column: 1, field: "", "empty", "allowed keys: project, version")
    }

    @Test func topLevelMustBeAMapping() throws {
        try workspace.expectError(
            "- foo\n", line: 1, column: 1, field: "(top level)", "expected a mapping", "found a list")
    }

    // MARK: Keys and types

    @Test func unknownTopLevelKey() throws {
        try workspace.expectError(
            minimalYAML + "image:\n  registry: x\n", line: 4, column: 1, field: "image",
            "unknown key \"image\"", "allowed: project, version, go, platforms, binaries, images, addons, full")
    }

    @Test func unknownNestedKey() throws {
        try workspace.expectError(
            minimalYAML + "images:\n  regsitry: registry.k8s.io\n", line: 5, column: 3, field: "images.regsitry",
            "unknown key \"regsitry\" in images", "allowed: registry, tagScheme, archSuffix, legacyAmd64Name, base")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    kinds: [server]\n    imgae: true\n", line: 4, column: 5,
            field: "binaries[0].imgae", "allowed: name, package, kinds, image, static")
    }

    @Test func wrongTypes() throws {
        try workspace.expectError(
            "binaries: kube-apiserver\n", line: 1, column: 11, field: "binaries",
            "expected a list of binaries", "found \"kube-apiserver\"")
        try workspace.expectError(
            minimalYAML + "images: [registry.k8s.io]\n", line: 4, column: 9, field: "images",
            "expected a mapping with keys registry, tagScheme", "found a list")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    kinds: [server]\n    static: maybe\n", line: 4, column: 13,
            field: "binaries[0].static", "expected true or false", "found \"maybe\"")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    kinds: [server]\n    image: \"true\"\n", line: 4, column: 12,
            field: "binaries[0].image", "expected true or false")
        try workspace.expectError(
            "project: {a: b}\n" + minimalYAML, line: 1, column: 10, field: "project",
            "expected a string", "found a mapping")
        try workspace.expectError(
            "go:\n  tags: netgo\n" + minimalYAML, line: 2, column: 9, field: "go.tags",
            "expected a list of strings", "found \"netgo\"")
        try workspace.expectError(
            "binaries:\n  - name: [foo]\n    kinds: [server]\n", line: 2, column: 11, field: "binaries[0].name",
            "expected a string", "found a list")
    }

    @Test func projectMustBeAFileName() throws {
        try workspace.expectError(
            "project: my/project\n" + minimalYAML, line: 1, column: 10, field: "project",
            "\"my/project\" is not a safe file name", "allowed: letters, digits")
    }

    // MARK: Binaries

    @Test func binariesRequiredAndNonEmpty() throws {
        try workspace.expectError(
            "project: x\n", line: 1, column: 1, field: "binaries", "required")
        try workspace.expectError(
            "project: x\nbinaries: []\n", line: 2, column: 11, field: "binaries", "the list is empty")
    }

    @Test func duplicateBinaryName() throws {
        try workspace.expectError(
            """
            binaries:
              - name: foo
                kinds: [server]
              - name: bar
                kinds: [client]
              - name: foo
                kinds: [node]

            """, line: 6, column: 11, field: "binaries[2].name",
            "duplicate binary name \"foo\"", "first defined at line 2")
    }

    @Test(arguments: ["../evil", "-rf", "a b", "kube/apiserver", ".hidden", "ä"])
    func invalidBinaryName(name: String) throws {
        try workspace.expectError(
            "binaries:\n  - name: \"\(name)\"\n    kinds: [server]\n", line: 2, column: 11, field: "binaries[0].name",
            "\"\(name)\" is not a safe file name", "allowed: letters, digits, '.', '_' and '-'")
    }

    @Test func binaryNameRequired() throws {
        try workspace.expectError(
            "binaries:\n  - package: ./cmd/foo\n    kinds: [server]\n", line: 2, column: 5, field: "binaries[0].name",
            "required")
    }

    @Test func kindsRequiredNonEmptyAndKnown() throws {
        try workspace.expectError(
            "binaries:\n  - name: foo\n", line: 2, column: 5, field: "binaries[0].kinds",
            "required", "allowed: client, server, node, test")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    kinds: []\n", line: 3, column: 12, field: "binaries[0].kinds",
            "ships in no kind", "allowed: client, server, node, test")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    kinds: [server, sever]\n", line: 3, column: 21,
            field: "binaries[0].kinds[1]",
            "unknown kind \"sever\"", "allowed: client, server, node, test")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    kinds: [node, node]\n", line: 3, column: 19, field: "binaries[0].kinds[1]",
            "listed twice")
    }

    @Test func kindWithoutPlatforms() throws {
        try workspace.expectError(
            "platforms:\n  test: []\nbinaries:\n  - name: foo\n    kinds: [server, test]\n", line: 5, column: 21,
            field: "binaries[0].kinds[1]", "platforms.test is empty")
    }

    // MARK: Packages

    @Test func relativePackageMustExist() throws {
        try workspace.expectError(
            "binaries:\n  - name: foo\n    package: ./cmd/nothere\n    kinds: [server]\n", line: 3, column: 14,
            field: "binaries[0].package", "directory cmd/nothere does not exist")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    package: ../outside\n    kinds: [server]\n", line: 3, column: 14,
            field: "binaries[0].package", "leaves the workspace")
        // An import path climbing out through vendor/ or the module path is refused before anything is read.
        for escape in ["a/../../../../tmp/x", "example.com/mod/../../../etc"] {
            try workspace.expectError(
                "binaries:\n  - name: foo\n    package: \(escape)\n    kinds: [server]\n", line: 3, column: 14,
                field: "binaries[0].package", "has a . or .. element")
        }
        try workspace.expectError(
            "binaries:\n  - name: foo\n    package: ./pkg/empty\n    kinds: [server]\n", line: 3, column: 14,
            field: "binaries[0].package", "has no .go files")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    package: ./pkg/lib\n    kinds: [server]\n", line: 3, column: 14,
            field: "binaries[0].package", "not a main package")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    package: ./cmd/...\n    kinds: [server]\n", line: 3, column: 14,
            field: "binaries[0].package", "is a pattern")
    }

    @Test func defaultPackageIsCmdName() throws {
        try workspace.expectError(
            "binaries:\n  - name: baz\n    kinds: [server]\n", line: 2, column: 11,
            field: "binaries[0].package", "binary baz", "package ./cmd/baz: directory cmd/baz does not exist")
    }

    @Test func modulePathPackages() throws {
        let config = try workspace.load(
            "binaries:\n  - name: bar\n    package: example.com/mod/cmd/bar\n    kinds: [server]\n")
        #expect(config.binaries[0].package == "example.com/mod/cmd/bar")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    package: example.com/mod/cmd/nothere\n    kinds: [server]\n", line: 3,
            column: 14,
            field: "binaries[0].package", "directory cmd/nothere does not exist")
        try workspace.expectError(
            "binaries:\n  - name: foo\n    package: github.com/other/cmd/foo\n    kinds: [server]\n", line: 3,
            column: 14,
            field: "binaries[0].package", "neither in module example.com/mod (go.mod) nor in vendor/",
            "allowed: ./relative/dir or example.com/mod/…")
    }

    @Test func versionPackageMustBeInTheModule() throws {
        // An -X flag for a package that is not linked in silently stamps nothing, so this is an error.
        try workspace.expectError(
            "version:\n  package: k8s.io/other/pkg/version\n" + minimalYAML, line: 2, column: 12,
            field: "version.package", "neither in module example.com/mod", "would stamp nothing")
        try workspace.expectError(
            "version:\n  package: example.com/mod/pkg/nothere\n" + minimalYAML, line: 2, column: 12,
            field: "version.package", "directory pkg/nothere does not exist")
    }

    @Test func versionPackageDefaultNeedsGoMod() throws {
        try FileManager.default.removeItem(atPath: workspace.path + "/go.mod")
        try workspace.expectError(
            "project: x\nversion:\n  style: semver\n" + minimalYAML, line: 2, column: 1,
            field: "version.package", "required", "no go.mod")
    }

    @Test func versionFields() throws {
        try workspace.expectError(
            "version:\n  style: calver\n" + minimalYAML, line: 2, column: 10, field: "version.style",
            "unknown value \"calver\"", "allowed: semver, describe")
        try workspace.expectError(
            "version:\n  baseFile: pkg/version/nothere.go\n" + minimalYAML, line: 2, column: 13,
            field: "version.baseFile",
            "pkg/version/nothere.go does not exist")
        try workspace.expectError(
            "version:\n  baseFile: /etc/passwd\n" + minimalYAML, line: 2, column: 13, field: "version.baseFile",
            "must be a path inside the workspace")
    }

    // MARK: Go

    @Test func goFields() throws {
        try workspace.expectError(
            "go:\n  version: one.nineteen\n" + minimalYAML, line: 2, column: 12, field: "go.version",
            "\"one.nineteen\" is not a Go version", "allowed: MAJOR.MINOR")
        try workspace.expectError(
            "go:\n  mod: vendr\n" + minimalYAML, line: 2, column: 8, field: "go.mod",
            "unknown value \"vendr\"", "allowed: mod, vendor, readonly")
        try workspace.expectError(
            "go:\n  mod: vendor\n" + minimalYAML, line: 2, column: 8, field: "go.mod",
            "vendor/modules.txt")
        try workspace.expectError(
            "go:\n  tags: [ok, \"not ok\"]\n" + minimalYAML, line: 2, column: 14, field: "go.tags[1]",
            "\"not ok\" is not a build tag")
        try workspace.expectError(
            "go:\n  ldflags: [\"-X a=b\"]\n" + minimalYAML, line: 2, column: 13, field: "go.ldflags[0]",
            "one non-empty word")
    }

    // MARK: Platforms

    @Test func unknownPlatforms() throws {
        try workspace.expectError(
            "platforms:\n  server: [linux/amd64, linux/amd65]\n" + minimalYAML, line: 2, column: 25,
            field: "platforms.server[1]", "unknown platform linux/amd65",
            "known linux architectures: 386, amd64, arm, arm64")
        try workspace.expectError(
            "platforms:\n  client:\n    - plan10/amd64\n" + minimalYAML, line: 3, column: 7,
            field: "platforms.client[0]", "unknown platform plan10/amd64", "known operating systems: aix, android")
        try workspace.expectError(
            "platforms:\n  node: [linux]\n" + minimalYAML, line: 2, column: 10,
            field: "platforms.node[0]", "\"linux\" is not an os/arch platform",
            "allowed: go tool dist list names like linux/amd64")
        try workspace.expectError(
            "platforms:\n  node: [linux/amd64, linux/amd64]\n" + minimalYAML, line: 2, column: 23,
            field: "platforms.node[1]", "linux/amd64 is listed twice")
        try workspace.expectError(
            "platforms:\n  servers: [linux/amd64]\n" + minimalYAML, line: 2, column: 3,
            field: "platforms.servers", "allowed: client, server, node, test")
    }

    // MARK: Images

    @Test func imageOnANonServerBinary() throws {
        try workspace.expectError(
            "binaries:\n  - name: foo\n    kinds: [node, client]\n    image: true\n", line: 4, column: 12,
            field: "binaries[0].image", "binary foo has an image but is not a server binary", "kinds: client, node",
            "add server to kinds or set image: false")
    }

    @Test func imageWithoutALinuxServerPlatform() throws {
        try workspace.expectError(
            "platforms:\n  server: [darwin/arm64]\nbinaries:\n  - name: foo\n    kinds: [server]\n    image: true\n",
            line: 6, column: 12, field: "binaries[0].image", "platforms.server has no linux platform")
    }

    @Test func imageNeedsALowercaseName() throws {
        try workspace.write("cmd/Foo/main.go", "package main\n\nfunc main() {}\n")
        try workspace.expectError(
            "binaries:\n  - name: Foo\n    kinds: [server]\n    image: true\n", line: 4, column: 12,
            field: "binaries[0].image", "binary Foo cannot name an image", "lowercase")
    }

    @Test(arguments: [
        ("Registry.K8s.io", "\"Registry\" in \"Registry.K8s.io\" is not a lowercase host name part"),
        ("registry.k8s.io/Team", "path component \"Team\""),
        ("registry.k8s.io:port", "port \"port\" is not a number"),
        ("registry.k8s.io//x", "path component \"\""),
        ("-bad.io", "\"-bad\""),
        ("host:1:2", "more than one ':'"),
        ("registry.k8s.io/a--_b", "path component \"a--_b\""),
    ])
    func invalidRegistry(registry: String, problem: String) throws {
        try workspace.expectError(
            minimalYAML + "images:\n  registry: \"\(registry)\"\n", line: 5, column: 13, field: "images.registry",
            "\"\(registry)\"", problem, "expected lowercase host[:port][/path]")
    }

    @Test func imageFields() throws {
        try workspace.expectError(
            minimalYAML + "images:\n  tagScheme: sha256\n", line: 5, column: 14, field: "images.tagScheme",
            "unknown value \"sha256\"", "allowed: md5, version")
        try workspace.expectError(
            minimalYAML + "images:\n  base: images/nothere.tar\n", line: 5, column: 9, field: "images.base",
            "base image file images/nothere.tar does not exist",
            "allowed: scratch or the path of a docker-archive / OCI-layout tarball")
        try workspace.expectError(
            minimalYAML + "images:\n  archSuffix: false\n  legacyAmd64Name: true\n", line: 6, column: 20,
            field: "images.legacyAmd64Name", "needs archSuffix: true")
        let scratch = try workspace.load(minimalYAML + "images:\n  base: scratch\n")
        #expect(scratch.images.base == nil)
    }

    // MARK: Add-ons and the full tarball

    @Test func addonsAndFullPaths() throws {
        try workspace.expectError(
            minimalYAML + "addons:\n  dirs: [cluster/addons, cluster/nothere]\n", line: 5, column: 26,
            field: "addons.dirs[1]",
            "add-on directory cluster/nothere does not exist")
        try workspace.expectError(
            minimalYAML + "addons:\n  dirs: [../elsewhere]\n", line: 5, column: 10, field: "addons.dirs[0]",
            "must be a path inside the workspace")
        try workspace.expectError(
            minimalYAML + "addons:\n  exclude: [/abs/**]\n", line: 5, column: 13, field: "addons.exclude[0]",
            "not a workspace-relative glob")
        try workspace.expectError(
            minimalYAML + "full:\n  include: [cluster, docs]\n", line: 5, column: 22, field: "full.include[1]",
            "docs does not exist in the workspace")
    }
}
