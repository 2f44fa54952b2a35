import Foundation
import KbuildConfig
import KbuildCore
import TestSupport
import Testing

/// The example workspace is a real Go module that builds offline and matches its own release config.
@Suite("Example workspace")
struct ExampleWorkspaceTests {
    /// Offline module mode, whatever the caller's environment says.
    static let goEnvironment: [String: String?] = [
        "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GO111MODULE": "on", "CGO_ENABLED": "0",
    ]

    @Test("go build and go vet pass offline; --version prints the -X stamped gitVersion")
    func buildsAndStampsTheVersion() async throws {
        let temp = try TemporaryDirectory("kbuild-example")
        defer { temp.remove() }
        let workspace = temp.appending("ws")
        try Repository.copyExamples(to: workspace)
        try await Tool.check("go", ["build", "./..."], in: workspace, environment: Self.goEnvironment)
        try await Tool.check("go", ["vet", "./..."], in: workspace, environment: Self.goEnvironment)

        let config = try ConfigLoader.load(workspace: workspace)
        let package = config.version.package
        for binary in config.binaries {
            let output = temp.appending("bin/\(binary.name)")
            try await Tool.check(
                "go",
                [
                    "build", "-o", output, "-ldflags",
                    "-X \(package).gitVersion=v1.2.3-test.4+abc -X \(package).gitCommit=abc",
                    binary.package,
                ],
                in: workspace, environment: Self.goEnvironment)
            #expect(try await Tool.check(output, ["--version"]) == "v1.2.3-test.4+abc\n")
            let raw = try await Tool.check(output, ["--version=raw"])
            let info = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: String]
            #expect(info?["gitVersion"] == "v1.2.3-test.4+abc")
            #expect(info?["gitCommit"] == "abc")
            #expect(info?["buildDate"] == "1970-01-01T00:00:00Z")
        }
        // Unstamped, the base.go fallback shows.
        let plain = temp.appending("bin/plain")
        try await Tool.check(
            "go", ["build", "-o", plain, "./cmd/kubectl"], in: workspace, environment: Self.goEnvironment)
        #expect(try await Tool.check(plain, ["--version"]) == "v0.1-dev\n")
    }

    @Test("Every released add-on manifest document carries the cluster-service label; demos are excluded")
    func addonsAreLabelled() throws {
        let config = try ConfigLoader.load(workspace: Repository.examples)
        var released: [String] = []
        var excluded: [String] = []
        for dir in config.addons.dirs {
            let enumerator = FileManager.default.enumerator(atPath: Repository.examples + "/" + dir)
            while let name = enumerator?.nextObject() as? String {
                let relative = dir + "/" + name
                guard [".yaml", ".yaml.in", ".json"].contains(where: { name.hasSuffix($0) }) else { continue }
                if config.addons.excludes(relative) {
                    excluded.append(relative)
                    continue
                }
                released.append(relative)
                let text = try String(contentsOfFile: Repository.examples + "/" + relative, encoding: .utf8)
                let documents = text.components(separatedBy: "\n---\n")
                for document in documents {
                    #expect(document.contains("kubernetes.io/cluster-service: \"true\""), "\(relative)")
                }
            }
        }
        #expect(
            released.sorted() == [
                "cluster/addons/dashboard/dashboard-2.7.yaml.in",
                "cluster/addons/dns/coredns-1.11.yaml",
                "cluster/addons/metrics-server/metrics-server-0.6.yaml",
            ])
        #expect(excluded == ["cluster/addons/demo/guestbook-1.0.yaml"])
    }
}
