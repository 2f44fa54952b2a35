import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild init` on a Kubernetes-style repository that is not Kubernetes (issue 21, item 8): only the
/// version names its pkg/version declares, tools left commented out, the project's own binary names
/// read from its Makefile, packages Go refuses named, and git's refusal named.
@Suite(.serialized) struct InitProposalTests {
    static let versionGo = """
        package version

        var (
        \tgitVersion   = "v0.0.0-master"
        \tgitCommit    = ""
        \tgitTreeState = ""
        \tbuildDate    = "1970-01-01T00:00:00Z"
        )

        func String() string { return gitVersion + " " + gitTreeState }

        """

    static func main(_ text: String = "") -> String {
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/arb/pkg/version\"\n)\n\nfunc main() { fmt.Println(version.String()\(text)) }\n"
    }

    /// kube-arbiter/arbiter's shape: four names in pkg/version/base.go, cmd/, hack/tools, test/, a Makefile
    /// naming a binary `<project>-scheduler`, and directories Go refuses.
    static func repository(at path: String) async throws -> GitRepository {
        let repo = try await GitRepository.create(at: path)
        try repo.write("go.mod", "module example.com/arb\n\ngo 1.19\n")
        try repo.write("pkg/version/base.go", versionGo)
        for directory in ["cmd/scheduler", "cmd/controller", "hack/tools/gen", "test/e2e/runner"] {
            try repo.write(directory + "/main.go", main())
        }
        for directory in ["cmd/my tool", "cmd/naïve", "cmd/new\nline"] {
            try repo.write(directory + "/main.go", "package main\n\nfunc main() {}\n")
        }
        try repo.write(
            "Makefile",
            "PROJECT := arb\nBIN ?= _output/bin\n\nbuild:\n\tgo build -ldflags \"$(LDFLAGS)\" \\\n\t\t-o $(BIN)/$(PROJECT)-scheduler ./cmd/scheduler\n"
        )
        try await repo.commitAll("arb")
        return repo
    }

    @Test func initProposesWhatTheProjectShipsAsItNamesIt() async throws {
        let dir = try TemporaryDirectory("kbuild-init-arb")
        defer { dir.remove() }
        let repo = try await Self.repository(at: dir.appending("arb"))
        let initialized = try await runKbuild(["init"], in: repo.path)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        let out = initialized.stdout
        #expect(
            out.contains(
                "2 binaries, version: version -> example.com/arb/pkg/version.gitVersion, commit -> example.com/arb/pkg/version.gitCommit, treeState -> example.com/arb/pkg/version.gitTreeState, buildDate -> example.com/arb/pkg/version.buildDate\n"
            ), "\(out)")
        #expect(
            out.contains(
                "left commented out: ./hack/tools/gen, ./test/e2e/runner (tools under hack/, tools/, test/, examples/)\n"
            ),
            "\(out)")
        #expect(out.contains("named arb-scheduler as Makefile:5 builds ./cmd/scheduler\n"), "\(out)")
        #expect(out.contains("read for binary names: Makefile\n"), "\(out)")
        for (path, what) in [
            ("example.com/arb/cmd/my tool", "a space"), ("example.com/arb/cmd/naïve", "the character 'ï'"),
            ("example.com/arb/cmd/new\\nline", "a newline"),
        ] {
            let line =
                "not proposed: \"\(path)\": \(what) in its directory's name; Go refuses such import paths (rename the directory to build it)\n"
            #expect(out.contains(line), "\(line) in \(out)")
        }

        let text = try String(contentsOfFile: repo.path + "/release/kbuild.yaml", encoding: .utf8)
        #expect(text.contains("  baseFile: \"pkg/version/base.go\""), "\(text)")
        #expect(!text.contains("gitMajor") && !text.contains("gitMinor"), "\(text)")
        #expect(
            text.contains("  - name: \"arb-scheduler\"   # named as Makefile:5 builds ./cmd/scheduler\n"), "\(text)")
        #expect(text.contains("  # - name: \"gen\"   # a tool under hack/: not released\n"), "\(text)")
        #expect(text.contains("  #   package: \"./hack/tools/gen\"\n"), "\(text)")

        // The proposal releases as it is: only the four names are stamped, each one reaches the binary.
        try await repo.commitAll("Release config")
        try await repo.git("tag", "-a", "v0.3.0", "-m", "v0.3.0")
        let built = try await runKbuild(["build"], in: repo.path)
        try #require(built.succeeded, "\(built.stderr)")
        let bin = repo.path + "/_output/local/bin/\(Platform.host.os)/\(Platform.host.arch)/"
        #expect(try await Tool.check(bin + "arb-scheduler", []) == "v0.3.0 clean\n")
        #expect(try await Tool.check(bin + "controller", []) == "v0.3.0 clean\n")
        #expect(!FileManager.default.fileExists(atPath: bin + "gen"))
    }

    @Test func kubernetesDefaultNamesAreAskedOfGoToo() async throws {
        let dir = try TemporaryDirectory("kbuild-init-six")
        defer { dir.remove() }
        let repo = try await Self.repository(at: dir.appending("arb"))
        try repo.write(
            "release/kbuild.yaml",
            """
            project: arb
            version:
              package: example.com/arb/pkg/version
            platforms: {client: [\(Platform.host)], server: [], node: [], test: []}
            binaries:
              - name: scheduler
                package: ./cmd/scheduler
                kinds: [client]

            """)
        try await repo.commitAll("Six names by default")
        let refused = try await runKbuild(["build"], in: repo.path)
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "error: example.com/arb/pkg/version.gitMajor (version.variables.major): no such package-level variable; -X stamps only package-level string variables (var Name string)\n",
            "\(refused.stderr)")
    }

    @Test func aRepositoryGitRefusesIsNamedWithGitsReason() async throws {
        let dir = try TemporaryDirectory("kbuild-init-uid")
        defer { dir.remove() }
        let repo = try await Self.repository(at: dir.appending("arb"))
        // Owned by nobody, run as root: git refuses it as "dubious".
        try await Tool.check("chown", ["-R", "65534:65534", repo.path])
        let refused = try await runKbuild(["init"], in: repo.path)
        #expect(refused.status == 1)
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(refused.stderr)")
        #expect(
            refused.stderr.hasPrefix("error: git cannot read the repository at \(repo.path): "), "\(refused.stderr)")
        #expect(refused.stderr.contains("detected dubious ownership in repository at"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("no package main"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: repo.path + "/release/kbuild.yaml"))
    }
}
