import Foundation
import KbuildCore
import TestSupport
import Testing

/// What a fault case did to the workspace: more text the message must hold, and more environment.
struct Broken: Sendable {
    var expected: [String] = []
    var environment: [String: String?] = [:]
}

/// One bad input or fault, run as `kbuild <arguments>` on a copy of the good release.
struct FaultCase: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments = ["release"]
    var environment: [String: String?] = [:]
    /// Text the one `error:` line must contain (compared case-insensitively): the culprit and what is allowed.
    var expected: [String]
    /// Text the error line must not contain (a secret from the input).
    var absent: [String] = []
    /// 1 for bad input and failed steps, 64 for usage errors (README, "Exit status").
    var status: Int32 = 1
    var breakIt: @Sendable (Fixture) async throws -> Broken = { _ in Broken() }

    var testDescription: String { name }
}

/// The failure matrix: every bad input and fault exits 1 with ONE `error:` line that names the culprit
/// (file:line:column, field, value, platform, binary) and says what is allowed, leaves the previous
/// `_output/release-tars` byte-identical, and leaves no `.kbuild-tmp` file anywhere in `_output`.
@Suite(.serialized) struct FailureMatrixTests {
    static let config = "release/kbuild.yaml"
    static let serverPlatforms = "server: [linux/amd64, linux/arm64, linux/arm]"
    /// A SOURCE_DATE_EPOCH other than the good release's: every binary, image and tarball is redone.
    static let newDate: [String: String?] = ["SOURCE_DATE_EPOCH": "1700000077"]

    static let configCases: [FaultCase] = [
        FaultCase(name: "config: malformed YAML", expected: [config + ":", "malformed YAML", "expected ','"]) {
            let line = try $0.editConfig("project: kubernetes", "project: [kubernetes")
            return Broken(expected: ["while parsing a flow sequence at line \(line)"])
        },
        FaultCase(name: "config: unknown key", expected: ["unknown key \"colour\"", "allowed: project, version, go"]) {
            let line = try $0.editConfig("\nfull:", "\ncolour: blue\nfull:") + 1
            return Broken(expected: ["\(config):\(line):1: colour"])
        },
        FaultCase(name: "config: wrong type", expected: ["images.archSuffix", "expected true or false", "\"maybe\""]) {
            let line = try $0.editConfig("archSuffix: true", "archSuffix: maybe")
            return Broken(expected: ["\(config):\(line):15:"])
        },
        FaultCase(
            name: "config: empty binaries list", expected: ["binaries: the list is empty", "at least one binary"]
        ) {
            let text = try String(contentsOfFile: $0.config, encoding: .utf8)
            let start = try #require(text.range(of: "binaries:\n"))
            let end = try #require(text.range(of: "\nimages:"))
            let block = String(text[start.lowerBound..<end.lowerBound])
            let line = try $0.editConfig(block, "binaries: []\n")
            return Broken(expected: ["\(config):\(line):11:"])
        },
        FaultCase(
            name: "config: duplicate binary", expected: ["duplicate binary name \"kubectl\"", "names must be unique"]
        ) {
            let line = try $0.editConfig("name: kube-proxy", "name: kubectl")
            return Broken(expected: [
                "\(config):\(line):", "first defined at line \(try $0.configLine(of: "name: kubectl"))",
            ])
        },
        FaultCase(
            name: "config: unknown platform",
            expected: ["platforms.server[1]", "unknown platform plan9/sparc64", "known plan9 architectures"]
        ) {
            let line = try $0.editConfig(serverPlatforms, "server: [linux/amd64, plan9/sparc64]")
            return Broken(expected: ["\(config):\(line):25:"])
        },
        FaultCase(
            name: "config: image for a non-linux platform",
            expected: ["binaries[1].image", "kube-apiserver", "images are linux only"]
        ) {
            try $0.editConfig(serverPlatforms, "server: [windows/amd64]")
            return Broken(expected: ["\(config):\(try $0.configLine(of: "image: true")):"])
        },
        FaultCase(
            name: "config: registry with invalid characters",
            expected: ["images.registry", "\"Registry.K8S.io/UP!per\"", "expected lowercase host[:port][/path]"]
        ) {
            let line = try $0.editConfig("registry: registry.k8s.io", "registry: Registry.K8S.io/UP!per")
            return Broken(expected: ["\(config):\(line):13:"])
        },
        FaultCase(
            name: "config: unknown tag scheme",
            expected: ["images.tagScheme", "unknown value \"sha1\"", "allowed: md5, version"]
        ) {
            let line = try $0.editConfig("tagScheme: md5", "tagScheme: sha1")
            return Broken(expected: ["\(config):\(line):14:"])
        },
        FaultCase(
            name: "config: missing base image file",
            expected: [
                "images.base", "images/missing.tar does not exist", "allowed: scratch or the path of a docker-archive",
            ]
        ) {
            let line = try $0.editConfig("base: scratch", "base: images/missing.tar")
            return Broken(expected: ["\(config):\(line):9:"])
        },
        FaultCase(
            name: "config: missing config file", arguments: ["release", "--config", "release/nope.yaml"],
            expected: ["release/nope.yaml", "no such file", "pass --config FILE"]),
        FaultCase(
            name: "config: KUBE_BUILD_PLATFORMS names an unconfigured platform",
            environment: ["KUBE_BUILD_PLATFORMS": "linux/amd64 plan9/sparc64"],
            expected: [
                "KUBE_BUILD_PLATFORMS=", "plan9/sparc64 is not in the release config",
                "configured: darwin/arm64, linux/amd64",
            ]),
    ]

    static let versionCases: [FaultCase] = [
        FaultCase(
            name: "version: no git and no base.go",
            expected: ["cannot determine the version", "no pkg/version/base.go", "tag a release (git tag -a vX.Y)"]
        ) {
            try FileManager.default.removeItem(atPath: $0.workspace + "/.git")
            try FileManager.default.removeItem(atPath: $0.workspace + "/pkg/version/base.go")
            try $0.editConfig("  baseFile: pkg/version/base.go", "")
            return Broken()
        },
        FaultCase(
            name: "version: tag vfoo",
            expected: ["version 'vfoo'", "from git describe", "expected vMAJOR.MINOR[.PATCH]"]
        ) {
            try await $0.repository.commitAll("after v1.0.0", date: "2024-01-03T00:00:00Z")
            try await $0.repository.git("tag", "-a", "vfoo", "-m", "vfoo", date: "2024-01-03T00:00:00Z")
            return Broken()
        },
        FaultCase(
            name: "version: KUBE_GIT_VERSION invalid", environment: ["KUBE_GIT_VERSION": "1.2.3"],
            expected: ["version '1.2.3'", "from KUBE_GIT_VERSION", "expected vMAJOR.MINOR[.PATCH]"]),
        FaultCase(
            name: "version: KUBE_GIT_VERSION_FILE missing", environment: ["KUBE_GIT_VERSION_FILE": "missing.env"],
            expected: ["missing.env", "no such file", "KUBE_GIT_VERSION_FILE"]),
        FaultCase(
            name: "version: KUBE_GIT_VERSION_FILE malformed", environment: ["KUBE_GIT_VERSION_FILE": "bad.env"],
            expected: ["bad.env:2:", "KUBE_GIT_VERSION must be single-quoted", "KUBE_GIT_VERSION='v1.2.3'"]
        ) {
            try $0.write(
                "bad.env", "KUBE_GIT_COMMIT='0123456789abcdef0123456789abcdef01234567'\nKUBE_GIT_VERSION=v1.2.3\n")
            return Broken()
        },
        FaultCase(
            name: "version: SOURCE_DATE_EPOCH not an integer", environment: ["SOURCE_DATE_EPOCH": "yesterday"],
            expected: ["SOURCE_DATE_EPOCH='yesterday' is not an integer", "expected seconds since 1970-01-01 UTC"]),
        FaultCase(
            name: "version: SOURCE_DATE_EPOCH negative", environment: ["SOURCE_DATE_EPOCH": "-5"],
            expected: ["SOURCE_DATE_EPOCH='-5' is out of range", "allowed 0 ... 253402300799"]),
        FaultCase(
            name: "version: SOURCE_DATE_EPOCH beyond year 9999", environment: ["SOURCE_DATE_EPOCH": "253402300800"],
            expected: ["SOURCE_DATE_EPOCH='253402300800' is out of range", "allowed 0 ... 253402300799", "end of 9999"]),
    ]

    static let buildCases: [FaultCase] = [
        FaultCase(name: "build: go not on PATH", expected: ["go not found on PATH", "set GO=/path/to/go"]) {
            // A PATH with git (the version needs it) and nothing else.
            let bin = $0.directory.appending("bin")
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: bin + "/git", withDestinationPath: "/usr/bin/git")
            return Broken(expected: ["(searched \(bin))"], environment: ["PATH": bin])
        },
        FaultCase(
            name: "build: GO is not an executable", environment: ["GO": "/nonexistent/go"],
            expected: ["GO=/nonexistent/go is not an executable file", "unset it to search PATH"]),
        FaultCase(
            name: "build: Go version mismatch",
            expected: [
                "does not match the required Go 1.18", "go.version in the release config", "install Go 1.18 or set GO=",
            ]
        ) {
            try $0.editConfig("version: \"1.19\"", "version: \"1.18\"")
            return Broken()
        },
        FaultCase(
            name: "build: a binary does not compile",
            expected: ["go build of kube-proxy for linux/amd64", "cmd/kube-proxy/main.go", "syntax error"]
        ) {
            let main = $0.workspace + "/cmd/kube-proxy/main.go"
            try (try String(contentsOfFile: main, encoding: .utf8) + "\nfunc broken( {\n")
                .write(toFile: main, atomically: true, encoding: .utf8)
            return Broken()
        },
        FaultCase(
            name: "build: package path does not exist",
            expected: ["binaries[3].package", "binary kube-proxy", "cmd/kube-nope does not exist"]
        ) {
            let line = try $0.editConfig("package: ./cmd/kube-proxy", "package: ./cmd/kube-nope")
            return Broken(expected: ["\(config):\(line):"])
        },
        FaultCase(
            name: "build: _output read-only", environment: newDate,
            expected: ["_output/.kbuild.lock", "read-only file system"]
        ) {
            try await $0.mountReadOnly($0.output)
            return Broken()
        },
        FaultCase(
            name: "build: binary directory read-only", environment: newDate,
            expected: ["cannot write build output", "_output/local/bin/linux/amd64/", "read-only file system"]
        ) {
            try await $0.mountReadOnly($0.output + "/local/bin")
            return Broken()
        },
        FaultCase(
            name: "build: image directory read-only", environment: newDate,
            expected: ["cannot write image output", "_output/release-images/amd64/kube-", "read-only file system"]
        ) {
            try await $0.mountReadOnly($0.output + "/release-images")
            return Broken()
        },
        FaultCase(name: "build: disk full while building", environment: newDate, expected: ["no space left on device"])
        {
            try await $0.outputOnSmallDisk(free: 2 << 20)
            return Broken()
        },
        // The same date: --skip-build refuses binaries stamped with another one. The move to a new file
        // system is what makes the package step redo its work (its outputs' stat signatures change).
        FaultCase(
            name: "build: disk full while packing", arguments: ["release", "--skip-build"],
            expected: ["no space left on device", "_output/"]
        ) {
            try await $0.outputOnSmallDisk(free: 6 << 20)
            return Broken()
        },
    ]

    static let outsideCases: [FaultCase] = [
        FaultCase(
            name: "outside: add-ons symlink to a directory outside",
            expected: [
                "cluster/addons/etc", "symlink points outside the workspace, to /etc",
                "only symlinks that stay inside the workspace",
            ]
        ) {
            try $0.symlink("cluster/addons/etc", to: "/etc")
            return Broken()
        },
        FaultCase(
            name: "outside: add-on manifest symlink climbing out",
            expected: [
                "cluster/addons/dns/rel.yaml", "symlink points outside the workspace", "only symlinks that stay inside",
            ]
        ) {
            try "apiVersion: v1\n".write(
                toFile: $0.directory.appending("outside.yaml"), atomically: true, encoding: .utf8)
            try $0.symlink("cluster/addons/dns/rel.yaml", to: "../../../../outside.yaml")
            return Broken(expected: [$0.directory.appending("outside.yaml")])
        },
        FaultCase(
            name: "outside: full.include symlink to a directory outside",
            expected: ["docs/etc", "symlink points outside the workspace, to /etc"]
        ) {
            try FileManager.default.createDirectory(atPath: $0.workspace + "/docs", withIntermediateDirectories: true)
            try $0.symlink("docs/etc", to: "/etc")
            try $0.editConfig("include: [cluster]", "include: [cluster, docs]")
            return Broken()
        },
        FaultCase(
            name: "outside: LICENSES symlink to a file outside",
            expected: ["/LICENSES", "symlink points outside the workspace, to /etc/hostname"]
        ) {
            try FileManager.default.removeItem(atPath: $0.workspace + "/LICENSES")
            try $0.symlink("LICENSES", to: "/etc/hostname")
            return Broken()
        },
        FaultCase(
            name: "base image: a ../ entry",
            expected: ["base image", "base.tar", "entry '../evil' climbs above the image root"]
        ) {
            try await BaseImageFixture.install(.dotdot, in: $0)
            return Broken()
        },
        FaultCase(
            name: "base image: an absolute entry",
            expected: ["base image", "base.tar", "is an absolute path; layer entries must be relative"]
        ) {
            try await BaseImageFixture.install(.absolutePath, in: $0)
            return Broken()
        },
        FaultCase(
            name: "base image: a relative symlink climbing out",
            expected: [
                "base image", "entry 'etc/shadow'",
                "symlink to '../../../etc/shadow', which points outside the image root",
            ]
        ) {
            try await BaseImageFixture.install(.relativeSymlinkOut, in: $0)
            return Broken()
        },
        FaultCase(
            name: "base image: a hardlink to outside",
            expected: [
                "base image", "entry 'etc/motd'", "hardlink to '../../etc/passwd', which points outside the image root",
            ]
        ) {
            try await BaseImageFixture.install(.hardlinkOut, in: $0)
            return Broken()
        },
        FaultCase(
            name: "base image: a layer whose digest does not match",
            expected: ["base image", "layer layer.tar (uncompressed) has digest sha256:", "the base is corrupt"]
        ) {
            try await BaseImageFixture.install(.wrongDiffID, in: $0)
            return Broken()
        },
        FaultCase(
            name: "base image: truncated tarball",
            expected: ["base image", "base.tar", "truncated", "allowed: a docker-archive"]
        ) {
            try await BaseImageFixture.install(.good, in: $0)
            let base = $0.workspace + "/base.tar"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: base))
            try bytes.prefix(8000).write(to: URL(fileURLWithPath: base))
            return Broken()
        },
        FaultCase(
            name: "base image: not a tarball",
            expected: ["base image", "base.tar", "not a readable tarball", "allowed: a docker-archive"]
        ) {
            try Data(pseudoRandomBytes(count: 5000)).write(to: URL(fileURLWithPath: $0.workspace + "/base.tar"))
            try $0.editConfig("base: scratch", "base: base.tar")
            return Broken()
        },
    ]

    /// What outside testing broke: a wrong version with exit 0, overridable stamps, lost
    /// symlinks, unparsed add-ons, messages that lost their point, promises not kept.
    static let outsideTestingCases: [FaultCase] = [
        FaultCase(
            name: "version: checkout owned by another uid (dubious ownership)",
            expected: [
                "git cannot read the repository at", "detected dubious ownership in repository at",
                "git config --global --add safe.directory", "or KUBE_GIT_VERSION_FILE with SOURCE_DATE_EPOCH",
            ]
        ) {
            try await $0.ownByAnotherUser()
            return Broken(expected: ["safe.directory \($0.workspace)"], environment: try $0.emptyHome())
        },
        FaultCase(
            name: "version: corrupt .git",
            expected: [
                "git cannot read the repository at", "not a git repository", "repair or re-clone it",
                "KUBE_GIT_VERSION_FILE",
            ]
        ) {
            try "garbage\n".write(toFile: $0.workspace + "/.git/HEAD", atomically: true, encoding: .utf8)
            return Broken()
        },
        FaultCase(
            name: "version: shallow clone without tags in CI", environment: ["CI": "true"],
            expected: [
                "is a shallow clone and git describe finds no v* tag in it", "falls back to base.go's v0.1-dev",
                "git fetch --unshallow --tags", "KUBE_GIT_VERSION_FILE",
            ]
        ) {
            try await $0.makeShallowClone()
            return Broken()
        },
        FaultCase(
            name: "version: shallow clone without tags, --strict-version", arguments: ["release", "--strict-version"],
            environment: ["CI": nil], expected: ["is a shallow clone", "git fetch --unshallow --tags"]
        ) {
            try await $0.makeShallowClone()
            return Broken()
        },
        FaultCase(
            name: "config: go.ldflags sets the stamped version (-X=)",
            expected: [
                "go.ldflags[0]: \"-X=k8s.io/example/pkg/version.gitVersion=v9.9.9\" sets k8s.io/example/pkg/version.gitVersion, which kbuild stamps from the release version; allowed: -X for other variables"
            ]
        ) {
            let line = try $0.editConfig(
                "ldflags: []", "ldflags: [\"-X=k8s.io/example/pkg/version.gitVersion=v9.9.9\"]")
            return Broken(expected: ["\(config):\(line):13: "])
        },
        FaultCase(
            name: "config: go.ldflags sets the stamped commit (--X and value as two items)",
            expected: [
                "go.ldflags[2]: \"k8s.io/example/pkg/version.gitCommit=0\" sets k8s.io/example/pkg/version.gitCommit",
                "allowed: -X for other variables",
            ]
        ) {
            let line =
                try $0.editConfig(
                    "  ldflags: []", "  ldflags:\n    - -w\n    - --X\n    - k8s.io/example/pkg/version.gitCommit=0")
                + 3
            return Broken(expected: ["\(config):\(line):7: "])
        },
        FaultCase(
            name: "src: the blob of a tracked file is missing from .git", environment: newDate,
            expected: [
                "go.mod: git cannot read its blob", "missing", "allowed: a repository holding every object of HEAD",
            ]
        ) {
            let blob = try await $0.repository.git("rev-parse", "HEAD:go.mod")
            try FileManager.default.removeItem(
                atPath: "\($0.workspace)/.git/objects/\(blob.prefix(2))/\(blob.dropFirst(2))")
            return Broken()
        },
        FaultCase(
            name: "add-ons: a .yaml that is not YAML",
            expected: [
                "cluster/addons/dns/broken.yaml:4:9: document 2: malformed YAML: did not find expected ',' or ']'",
                "allowed: YAML (every document of a multi-document file) or JSON add-on manifests",
            ]
        ) {
            try $0.write(
                "cluster/addons/dns/broken.yaml",
                "metadata: {labels: {addonmanager.kubernetes.io/mode: Reconcile}}\n---\nkind: [Service\nmetadata: {}\n")
            return Broken()
        },
        FaultCase(
            name: "add-ons: a .json with an unclosed brace",
            expected: [
                "cluster/addons/dns/broken.json:3:1: document 1: malformed JSON: unexpected end of file (an unclosed {?); allowed: YAML"
            ]
        ) {
            try $0.write(
                "cluster/addons/dns/broken.json",
                "{\n  \"metadata\": {\"labels\": {\"addonmanager.kubernetes.io/mode\": \"Reconcile\"}}\n")
            return Broken()
        },
        FaultCase(
            name: "add-ons: the label only in a comment",
            expected: [
                "cluster/addons/dns/commented.yaml: add-on manifest lacks the label kubernetes.io/cluster-service: \"true\"",
                "exclude the file with addons.exclude",
            ]
        ) {
            try $0.write(
                "cluster/addons/dns/commented.yaml",
                "# kubernetes.io/cluster-service: \"true\"\napiVersion: v1\nkind: Service\nmetadata:\n  name: x\n")
            return Broken()
        },
        FaultCase(
            name: "messages: KUBE_GIT_VERSION with a newline", environment: ["KUBE_GIT_VERSION": "v1\nx"],
            expected: [
                "version \"v1\\nx\" (from KUBE_GIT_VERSION) is not a valid semantic version: expected vMAJOR.MINOR[.PATCH]"
            ]),
        FaultCase(
            name: "messages: go.ldflags item with a newline",
            expected: ["go.ldflags[0]: \"-w\\nx\" must be one non-empty word without spaces"]
        ) {
            let line = try $0.editConfig("ldflags: []", "ldflags: [\"-w\\nx\"]")
            return Broken(expected: ["\(config):\(line):13: "])
        },
        FaultCase(
            name: "messages: KUBE_DOCKER_REGISTRY with a newline", environment: ["KUBE_DOCKER_REGISTRY": "a\nb"],
            expected: ["KUBE_DOCKER_REGISTRY=\"a\\nb\":", "expected lowercase host[:port][/path]"]),
        FaultCase(
            name: "messages: KUBE_GIT_COMMIT with a quote", environment: ["KUBE_GIT_COMMIT": "ab'c"],
            expected: [
                "KUBE_GIT_COMMIT=\"ab'c\" (from the environment) cannot be stamped into a binary; allowed: a git commit hash"
            ]),
        FaultCase(
            name: "messages: KUBE_GIT_VERSION_FILE is /dev/zero", environment: ["KUBE_GIT_VERSION_FILE": "/dev/zero"],
            expected: [
                "cannot read /dev/zero: is a character device (KUBE_GIT_VERSION_FILE); allowed: a regular file of KEY='value' lines"
            ]),
        FaultCase(
            name: "messages: KUBE_GIT_VERSION_FILE is a FIFO (never blocks)",
            expected: [": is a FIFO (KUBE_GIT_VERSION_FILE); allowed: a regular file"]
        ) {
            let fifo = $0.directory.appending("version.fifo")
            guard mkfifo(fifo, 0o644) == 0 else { throw FixtureError("mkfifo \(fifo)") }
            return Broken(expected: ["cannot read \(fifo)"], environment: ["KUBE_GIT_VERSION_FILE": fifo])
        },
        FaultCase(
            name: "messages: KUBE_GIT_VERSION_FILE is a directory", environment: ["KUBE_GIT_VERSION_FILE": "release"],
            expected: ["cannot read release: is a directory (KUBE_GIT_VERSION_FILE); allowed: a regular file"]),
        FaultCase(
            name: "messages: -C names a file", arguments: ["release", "-C", "release/kbuild.yaml"],
            expected: ["/release/kbuild.yaml: is a regular file (-C); allowed: a directory, the Go workspace"]),
        FaultCase(
            name: "usage: --jobs 0 is one line, exit 64", arguments: ["release", "--jobs", "0"],
            expected: [
                "error: --jobs must be at least 1, got 0; allowed: a whole number of concurrent jobs, 1 or more; see kbuild release --help"
            ],
            status: 64),
        FaultCase(
            name: "usage: --shard with --merge is one line, exit 64, before the workspace is read",
            arguments: ["release", "--shard", "1/2", "--merge", "_output/shards/1-of-2"],
            expected: [
                "error: --merge given with --shard; allowed: --shard I/N on each of N machines, then --merge DIR… on one; see kbuild release --help"
            ],
            status: 64),
        FaultCase(
            name: "usage: --skip-build with --merge is one line, exit 64, before the workspace is read",
            arguments: ["release", "--skip-build", "--merge", "_output/shards/1-of-2"],
            expected: [
                "error: --skip-build given with --merge; allowed: one of them (--merge takes the binaries from the shards); see kbuild release --help"
            ],
            status: 64),
        FaultCase(
            name: "usage: verify --tls-verify without --registry is one line, exit 64",
            arguments: ["verify", "--tls-verify", "false"],
            expected: [
                "error: --tls-verify given without --registry; allowed: --tls-verify with --registry HOST; see kbuild verify --help"
            ],
            status: 64),
        FaultCase(
            name: "usage: verify --json with --log-format json is one line, exit 64",
            arguments: ["verify", "--json", "--log-format", "json"],
            expected: [
                "error: --json given with --log-format json; allowed: one of them (--json: one report document, --log-format json: one event per line); see kbuild verify --help"
            ],
            status: 64),
        FaultCase(
            name: "usage: verify --jobs 0 is one line, exit 64 (the shared option)",
            arguments: ["verify", "--jobs", "0"],
            expected: [
                "error: --jobs must be at least 1, got 0; allowed: a whole number of concurrent jobs, 1 or more; see kbuild verify --help"
            ],
            status: 64),
        FaultCase(
            name: "messages: verify --config names a missing file", arguments: ["verify", "--config", "nope.yaml"],
            expected: ["/nope.yaml: cannot read the release config: no such file"]),
        FaultCase(
            name: "usage: an unknown option is one line, exit 64", arguments: ["release", "--colour"],
            expected: ["error: unknown option '--colour'", "see kbuild release --help"], status: 64),
        FaultCase(
            name: "promises: KUBE_GIT_TREE_STATE is not clean, dirty or archive",
            environment: ["KUBE_GIT_TREE_STATE": "weird"],
            expected: [
                "KUBE_GIT_TREE_STATE=\"weird\" (from the environment) cannot be stamped into a binary; allowed: clean, dirty or archive"
            ]),
        FaultCase(
            name: "promises: KUBE_GIT_MINOR is not a minor version",
            environment: ["KUBE_GIT_MAJOR": "1", "KUBE_GIT_MINOR": "x"],
            expected: [
                "KUBE_GIT_MINOR=\"x\" (from the environment) cannot be stamped into a binary; allowed: digits with an optional +, e.g. 30 or 31+"
            ]),
        FaultCase(
            name: "promises: KUBE_DOCKER_REGISTRY port out of range",
            environment: ["KUBE_DOCKER_REGISTRY": "localhost:99999"],
            expected: [
                "KUBE_DOCKER_REGISTRY=\"localhost:99999\": port 99999 is out of range; allowed: a port from 1 to 65535"
            ]),
        FaultCase(
            name: "promises: --skip-build with binaries stamped for another version",
            arguments: ["release", "--skip-build"],
            expected: [
                "kube-apiserver for linux/amd64 (_output/local/bin/linux/amd64/kube-apiserver) is not stamped with this release's version: its gitVersion is not \"v1.0.0-1+",
                "allowed: binaries built by kbuild build for v1.0.0-1+", "(run kbuild build, or drop --skip-build)",
            ]
        ) {
            try await $0.repository.commitAll("one more commit", date: "2024-01-03T00:00:00Z")
            return Broken()
        },
    ]

    /// Errors that end a command while work started alongside the loader (the source walk, git's and Go's
    /// queries) still runs: on a large tree that work outlived the error line and crashed the process.
    static let earlyCases: [FaultCase] = [
        FaultCase(
            name: "early: release without a release config",
            expected: [
                "error: \(placeholderWorkspace)/release/kbuild.yaml: cannot read the release config: no such file (write one, or pass --config FILE)"
            ]
        ) {
            try FileManager.default.removeItem(atPath: $0.config)
            return Broken()
        },
        FaultCase(
            name: "early: build without a release config", arguments: ["build"],
            expected: ["/release/kbuild.yaml: cannot read the release config: no such file"]
        ) {
            try FileManager.default.removeItem(atPath: $0.config)
            return Broken()
        },
        FaultCase(
            name: "early: release with a bad project name",
            expected: [
                "project: \"Bad Name!\" is not a safe file name; allowed: letters, digits, '.', '_' and '-', starting with a letter or digit"
            ]
        ) {
            try $0.editConfig("project: kubernetes", "project: \"Bad Name!\"")
            return Broken()
        },
        FaultCase(
            name: "early: release with KUBE_GIT_VERSION_FILE=/nonexistent",
            environment: ["KUBE_GIT_VERSION_FILE": "/nonexistent"],
            expected: ["/nonexistent", "no such file", "KUBE_GIT_VERSION_FILE"]),
    ]

    /// Secrets given in URLs are never echoed (issue 21, item 5).
    static let secretCases: [FaultCase] = [
        FaultCase(
            name: "secrets: KBUILD_REMOTE_CACHE with user:password",
            environment: ["KBUILD_REMOTE_CACHE": "http://bot:s3cr3t-token@cache.example/kbuild"],
            expected: [
                "error: KBUILD_REMOTE_CACHE \"http://<redacted>@cache.example/kbuild\": credentials in the URL are not supported (they would show in logs); allowed: http://HOST"
            ], absent: ["s3cr3t-token", "bot:"]),
        FaultCase(
            name: "secrets: --remote-cache with a token query",
            arguments: ["release", "--remote-cache", "https://cache.example/x?token=s3cr3t-token#s3cr3t-frag"],
            expected: [
                "error: --remote-cache \"https://cache.example/x?<redacted>#<redacted>\": has a query or fragment; allowed:"
            ], absent: ["s3cr3t"]),
        FaultCase(
            name: "secrets: cache.remote with user:password in the config",
            expected: [
                "cache.remote: \"http://<redacted>@cache.example\": credentials in the URL are not supported"
            ], absent: ["s3cr3t-token"]
        ) {
            try $0.write(
                "release/kbuild.yaml",
                try String(contentsOfFile: $0.config, encoding: .utf8)
                    + "cache:\n  remote: http://bot:s3cr3t-token@cache.example\n")
            return Broken()
        },
    ]

    /// Messages that misled (issue 21, item 9); the release-directory ones are in UnsafeTreeTests.
    static let messageCases: [FaultCase] = [
        FaultCase(
            name: "usage: --shard -1/2 is a bad value, exit 64", arguments: ["release", "--shard", "-1/2"],
            expected: [
                "error: --shard \"-1/2\": not a shard of the release; allowed: I/N with 1 <= I <= N <= 64, e.g. 2/3; see kbuild release --help"
            ], status: 64),
        FaultCase(
            name: "usage: --shard x, exit 64", arguments: ["build", "--shard", "x"],
            expected: [
                "error: --shard \"x\": not I/N; allowed: I/N with 1 <= I <= N <= 64, e.g. 2/3; see kbuild build --help"
            ], status: 64),
        FaultCase(
            name: "keys: a public key as the signing key", arguments: ["release", "--sign-key", "release/pub.pem"],
            expected: [
                "/pub.pem: is a public key; signing needs the private key (give the public one to verify --key); allowed: an unencrypted Ed25519 private key"
            ], absent: ["DECODER"]
        ) {
            let key = $0.directory.appending("key.pem")
            try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", key])
            try await Tool.check("openssl", ["pkey", "-in", key, "-pubout", "-out", $0.workspace + "/release/pub.pem"])
            return Broken()
        },
        FaultCase(
            name: "keys: a FIFO as the signing key (never blocks)",
            expected: [": is a FIFO; allowed: an unencrypted Ed25519 private key in PEM"]
        ) {
            let fifo = $0.directory.appending("key.fifo")
            guard mkfifo(fifo, 0o600) == 0 else { throw FixtureError("mkfifo \(fifo)") }
            return Broken(environment: ["KBUILD_SIGN_KEY": fifo])
        },
    ]

    static let allCases =
        configCases + versionCases + buildCases + outsideCases + outsideTestingCases + earlyCases + secretCases
        + messageCases

    @Test(arguments: allCases)
    func fails(_ fault: FaultCase) async throws {
        let fixture = try await Fixture(String(fault.name.prefix { $0 != ":" }))
        defer { fixture.cleanup() }
        let before = try snapshot(of: fixture.releaseTars)
        let broken = try await fault.breakIt(fixture)
        let result = try await GoodRelease.kbuild(
            fault.arguments, in: fixture.workspace, fault.environment.merging(broken.environment) { $1 })
        expectOneErrorLine(result, fault, broken, workspace: fixture.workspace)
        #expect(try snapshot(of: fixture.releaseTars) == before, "release-tars changed")
        let leftovers = temporaryLeftovers(in: fixture.output)
        #expect(leftovers.isEmpty, "leftovers: \(leftovers)")
    }

    /// The early errors again on a tree of 20,000 more committed files (one tree, restored from git after
    /// each case), six runs each: the exact status, no signal, and stderr exactly the one line (a crash after
    /// it added a backtrace and SIGSEGV/SIGILL).
    @Test func earlyErrorsEndCleanlyOnALargeTree() async throws {
        let fixture = try await Fixture("large")
        defer { fixture.cleanup() }
        try await fixture.addGeneratedFiles(20_000)
        for fault in Self.earlyCases {
            let broken = try await fault.breakIt(fixture)
            for _ in 1...6 {
                let result = try await GoodRelease.kbuild(
                    fault.arguments, in: fixture.workspace, fault.environment.merging(broken.environment) { $1 })
                expectOneErrorLine(result, fault, broken, workspace: fixture.workspace)
            }
            try await fixture.repository.git("checkout", "--", ".")
        }
    }

    /// The exit status exactly, no signal, and stderr exactly one `error:` line holding every expected text.
    private func expectOneErrorLine(_ result: CommandResult, _ fault: FaultCase, _ broken: Broken, workspace: String) {
        #expect(result.status == fault.status && !result.signaled, "\(result.status) \(result.stderr)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(
            lines.count == 1 && result.stderr.hasPrefix("error: ") && result.stderr.hasSuffix("\n"),
            "not one error line: \(result.stderr)")
        for text in fault.absent {
            #expect(!result.stderr.contains(text), "'\(text)' echoed in: \(result.stderr)")
        }
        for text in fault.expected + broken.expected {
            let text = text.replacingOccurrences(of: Self.placeholderWorkspace, with: workspace)
            #expect(result.stderr.lowercased().contains(text.lowercased()), "'\(text)' missing in: \(result.stderr)")
        }
    }

    /// Stands for the fixture's workspace in an expected text that must match a whole line.
    static let placeholderWorkspace = "<workspace>"

    /// A signing key group or others can read still signs, with one warning (ssh refuses such keys).
    @Test func aWorldReadableSigningKeyIsWarnedAbout() async throws {
        let fixture = try await Fixture("key-mode")
        defer { fixture.cleanup() }
        let key = fixture.directory.appending("key.pem")
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", key])
        chmod(key, 0o644)
        let result = try await GoodRelease.kbuild(["release", "--sign-key", key], in: fixture.workspace)
        #expect(result.succeeded, "\(result.stderr)")
        #expect(
            result.stderr
                == "warning: \(key): the private signing key is readable by group or others (mode 0644); chmod 600 it\n"
        )
        chmod(key, 0o600)
        let quiet = try await GoodRelease.kbuild(["release", "--sign-key", key], in: fixture.workspace)
        #expect(quiet.succeeded && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }

    @Test func matrixHasAtLeastThirtyCases() {
        #expect(Self.allCases.count >= 30)
        #expect(Set(Self.allCases.map(\.name)).count == Self.allCases.count)
    }

    /// Spaces, unicode and a path over 100 bytes: the release succeeds and GNU tar lists the exact name.
    @Test func oddFileNamesRoundTripThroughGNUTar() async throws {
        let fixture = try await Fixture("names")
        defer { fixture.cleanup() }
        let name = "dir with spaces/ünïcødé ☃ " + String(repeating: "x", count: 110) + ".txt"
        try fixture.write("cluster/" + name, "odd name\n")
        try await fixture.repository.commitAll("odd file name")
        let result = try await GoodRelease.kbuild(["release"], in: fixture.workspace)
        try #require(result.succeeded, "\(result.stderr)")
        for (tarball, path) in [
            ("kubernetes.tar.gz", "kubernetes/cluster/" + name), ("kubernetes-src.tar.gz", "cluster/" + name),
        ] {
            let file = fixture.releaseTars + "/" + tarball
            let listing = try await Tool.check("tar", ["-tzf", file], environment: ["LC_ALL": "C.UTF-8"])
            #expect(listing.split(separator: "\n").contains { String($0) == path }, "\(path) not listed in \(tarball)")
            let content = try await Tool.check("tar", ["-xzOf", file, path], environment: ["LC_ALL": "C.UTF-8"])
            #expect(content == "odd name\n")
        }
        #expect(path(name).utf8.count > 100)
    }

    private func path(_ name: String) -> String { "kubernetes/cluster/" + name }

    /// Absolute symlinks inside a base image resolve inside the image root at run time: accepted by design.
    @Test func aBaseImageWithAnAbsoluteSymlinkIsAccepted() async throws {
        let fixture = try await Fixture("abs-symlink")
        defer { fixture.cleanup() }
        try await BaseImageFixture.install(.absoluteSymlink, in: fixture)
        let result = try await GoodRelease.kbuild(["release"], in: fixture.workspace)
        #expect(result.succeeded, "\(result.stderr)")
        // The image is the base layer plus the binary's.
        let image = fixture.output + "/release-images/amd64/kube-proxy.tar"
        let manifest = try await Tool.check("tar", ["-xOf", image, "manifest.json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [[String: Any]])
        #expect((entries.first?["Layers"] as? [Any])?.count == 2, "\(manifest)")
    }
}
