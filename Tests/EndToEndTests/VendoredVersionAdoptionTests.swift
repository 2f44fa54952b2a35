import Foundation
import KbuildCore
import TestSupport
import Testing

/// Kubernetes-style components outside kubernetes/kubernetes (kube-arbiter, many operators) keep no version
/// package of their own: hack/lib/version.sh stamps the vendored `k8s.io/component-base/version`.
@Suite(.serialized) struct VendoredVersionAdoptionTests {
    /// A module vendoring component-base/version; `cmd/ctl` prints it when `importsIt`, `cmd/other` never does.
    static func componentWorkspace(at path: String, importsIt: Bool) async throws -> GitRepository {
        let repo = try await GitRepository.create(at: path)
        try repo.write("go.mod", "module example.com/component\n\ngo 1.19\n\nrequire k8s.io/component-base v0.23.10\n")
        try repo.write(
            "vendor/modules.txt",
            "# k8s.io/component-base v0.23.10\n## explicit; go 1.16\nk8s.io/component-base/version\n")
        try repo.write(
            "vendor/k8s.io/component-base/version/base.go",
            """
            package version

            var (
            \tgitMajor     string
            \tgitMinor     string
            \tgitVersion   = "v0.0.0-master+$Format:%H$"
            \tgitCommit    = "$Format:%H$"
            \tgitTreeState = ""
            \tbuildDate    = "1970-01-01T00:00:00Z"
            )

            """)
        try repo.write(
            "vendor/k8s.io/component-base/version/version.go",
            """
            package version

            // Get is the one-line form of Kubernetes' version.Info.
            func Get() string {
            \treturn gitVersion + " " + gitCommit + " " + gitTreeState + " " + gitMajor + "." + gitMinor + " " + buildDate
            }

            """)
        try repo.write(
            "cmd/ctl/main.go",
            importsIt
                ? "package main\n\nimport (\n\t\"fmt\"\n\n\t\"k8s.io/component-base/version\"\n)\n\nfunc main() { fmt.Println(version.Get()) }\n"
                : "package main\n\nfunc main() {}\n")
        try repo.write("cmd/other/main.go", "package main\n\nfunc main() {}\n")
        try await repo.commitAll("Component")
        try await repo.git("tag", "-a", "v0.3.0", "-m", "v0.3.0")
        return repo
    }

    @Test func initStampsTheVendoredComponentBaseVersion() async throws {
        let dir = try TemporaryDirectory("kbuild-componentbase")
        defer { dir.remove() }
        let workspace = dir.appending("component")
        let repo = try await Self.componentWorkspace(at: workspace, importsIt: true)

        let initialized = try await runKbuild(["init"], in: workspace)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        #expect(
            initialized.stdout.contains(
                "version: version -> k8s.io/component-base/version.gitVersion, commit -> k8s.io/component-base/version.gitCommit"
            ), "\(initialized.stdout)")
        let config = try String(contentsOfFile: workspace + "/release/kbuild.yaml", encoding: .utf8)
        #expect(config.contains("    minor: \"k8s.io/component-base/version.gitMinor\"\n"), "\(config)")
        #expect(config.contains("  mod: vendor "))

        try await repo.commitAll("Release config")
        try await repo.git("tag", "-f", "-a", "v0.3.0", "-m", "v0.3.0")
        let flags = try await runKbuild(["version", "--ldflags"], in: workspace)
        #expect(flags.stdout.contains("-X 'k8s.io/component-base/version.gitVersion=v0.3.0'"), "\(flags.stdout)")
        let released = try await runKbuild(["release"], in: workspace)
        try #require(released.succeeded, "\(released.stderr)")
        let commit = try await repo.git("rev-parse", "HEAD")
        // buildDate is the commit time (GitRepository commits at 2024-01-02T03:04:05Z).
        let printed = try await Tool.check(
            workspace + "/_output/local/bin/\(Platform.host.os)/\(Platform.host.arch)/ctl", [])
        #expect(printed == "v0.3.0 \(commit) clean 0.3 2024-01-02T03:04:05Z\n", "\(printed)")
    }

    /// Vendored is not enough: a tree whose binaries never import it keeps `variables: {}`.
    @Test func aVendoredVersionNoBinaryImportsIsNotProposed() async throws {
        let dir = try TemporaryDirectory("kbuild-componentbase-unused")
        defer { dir.remove() }
        let workspace = dir.appending("component")
        _ = try await Self.componentWorkspace(at: workspace, importsIt: false)
        let initialized = try await runKbuild(["init"], in: workspace)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        #expect(initialized.stdout.contains("version: no version variable found"), "\(initialized.stdout)")
    }
}
