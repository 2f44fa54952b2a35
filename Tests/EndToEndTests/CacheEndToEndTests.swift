import Foundation
import KbuildCore
import TestSupport
import Testing

/// A release with nothing changed reuses everything; any change redoes exactly what depends on it.
@Suite(.serialized) struct CacheEndToEndTests {
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000",
        "KBUILD_GOCACHE": SharedGoCache.path,
    ]

    func release(_ workspace: String, _ extra: [String: String?] = [:]) async throws -> CommandResult {
        var env = Self.environment
        env.merge(extra) { $1 }
        let result = try await Tool.run(Repository.kbuildBinary, ["release", "-v"], in: workspace, environment: env)
        try #require(result.succeeded, "\(result.stderr)\n\(result.stdout)")
        return result
    }

    func signatures(_ directory: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            var info = stat()
            stat(directory + "/" + name, &info)
            result[name] = "\(info.st_ino)/\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return result
    }

    @Test func nothingChangedReusesEverythingAndAnyChangeRedoesItsDependents() async throws {
        let dir = try TemporaryDirectory("kbuild-cache")
        defer { dir.remove() }
        let workspace = dir.appending("ws")
        let repo = try await Repository.exampleWorkspace(in: workspace, tag: "v1.4.0")
        let tars = workspace + "/_output/release-tars"
        let binary = workspace + "/_output/local/bin/linux/amd64/kube-proxy"
        let image = workspace + "/_output/release-images/amd64/kube-proxy.tar"

        _ = try await release(workspace)
        let first = try signatures(tars)
        let firstBinary = try signatures(Paths.parent(of: binary))

        // Nothing changed — variables kbuild does not read and a file under _output aside: no build, no
        // image, no tarball rewritten.
        try FileOutput.writeAtomically("not a source\n", to: workspace + "/_output/notes.md")
        let again = try await release(workspace, ["EDITOR": "vi", "CI_JOB_ID": "4711"])
        #expect(again.stdout.contains("nothing changed since the last release"), "\(again.stdout)")
        #expect(again.stdout.contains("0 built"), "\(again.stdout)")
        #expect(try signatures(tars) == first)
        #expect(try signatures(Paths.parent(of: binary)) == firstBinary)

        // A changed SOURCE_DATE_EPOCH changes every tarball (times) and the stamped buildDate.
        let dated = try await release(workspace, ["SOURCE_DATE_EPOCH": "1700000100"])
        #expect(!dated.stdout.contains("nothing changed"), "\(dated.stdout)")
        #expect(
            try signatures(tars)["kubernetes-server-linux-amd64.tar.gz"]
                != first["kubernetes-server-linux-amd64.tar.gz"])

        // Back to the first date: the outputs are the same bytes as the first time.
        _ = try await release(workspace)
        let sums = try String(contentsOfFile: tars + "/SHA256SUMS", encoding: .utf8)

        // A source change rebuilds binaries, images and tarballs; the output differs.
        let imageBefore = try Data(contentsOf: URL(fileURLWithPath: image))
        let go = workspace + "/cmd/kube-proxy/main.go"
        let source = try String(contentsOfFile: go, encoding: .utf8)
        try (source + "\nvar cacheProbe = \"changed\"\n").write(toFile: go, atomically: true, encoding: .utf8)
        try await repo.commitAll("change kube-proxy")
        let changed = try await release(workspace)
        #expect(!changed.stdout.contains("0 built"), "\(changed.stdout)")
        #expect(try String(contentsOfFile: tars + "/SHA256SUMS", encoding: .utf8) != sums)
        #expect(try Data(contentsOf: URL(fileURLWithPath: image)) != imageBefore, "image not rebuilt")

        // A registry change rewrites images and tarballs but builds nothing.
        let registry = try await release(workspace, ["KUBE_DOCKER_REGISTRY": "example.com/mirror"])
        #expect(registry.stdout.contains("0 built"), "\(registry.stdout)")
        let tags = try await Tool.check("skopeo", ["list-tags", "docker-archive:\(image)"])
        #expect(tags.contains("example.com/mirror/kube-proxy-amd64"), "\(tags)")

        // An output tampered with is noticed and rewritten.
        let server = tars + "/kubernetes-server-linux-amd64.tar.gz"
        let good = try Data(contentsOf: URL(fileURLWithPath: server))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: server))
        _ = try await release(workspace, ["KUBE_DOCKER_REGISTRY": "example.com/mirror"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: server)) == good)
    }
}
