import Foundation
import KbuildCore
import TestSupport
import Testing

/// The pack step deflates each distinct block once, and after a one-file edit only the changed
/// binary's blocks: counted as the new members in `_output/cache/deflate`.
@Suite(.serialized) struct DeflateCacheEndToEndTests {
    @Test func aOneFileEditRepacksOnlyThatBinarysBlocks() async throws {
        let dir = try TemporaryDirectory("kbuild-deflate")
        defer { dir.remove() }
        let workspace = dir.appending("ws")
        let repo = try await Repository.exampleWorkspace(in: workspace, tag: "v1.4.0")
        let commit = try await repo.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
        // The version pinned, so that the edit changes kube-proxy and nothing else.
        let environment: [String: String?] = [
            "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000",
            "KBUILD_GOCACHE": SharedGoCache.path, "KUBE_GIT_VERSION": "v1.4.0", "KUBE_GIT_COMMIT": commit,
            "KUBE_GIT_TREE_STATE": "clean",
        ]
        func release() async throws {
            let result = try await Tool.run(
                Repository.kbuildBinary, ["release"], in: workspace, environment: environment)
            try #require(result.succeeded, "\(result.stderr)\n\(result.stdout)")
        }
        func members() throws -> Set<String> {
            let root = workspace + "/_output/cache/deflate"
            var names: Set<String> = []
            for library in try FileManager.default.contentsOfDirectory(atPath: root) {
                for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + library) {
                    names.insert(library + "/" + name)
                }
            }
            return names
        }

        try await release()
        let first = try members()
        let proxy = workspace + "/_output/local/bin/linux/amd64/kube-proxy"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: proxy)[.size] as? Int)
        // Every binary and image of the release, as blocks of at most 1 MiB.
        #expect(first.count >= 8, "\(first.count) members")

        let go = workspace + "/cmd/kube-proxy/main.go"
        let source = try String(contentsOfFile: go, encoding: .utf8)
        let edited = source.replacingOccurrences(of: "service proxy rules", with: "service proxy rules (edited)")
        #expect(edited != source)
        try edited.write(toFile: go, atomically: true, encoding: .utf8)
        try await release()
        let added = try members().subtracting(first)
        // kube-proxy's blocks (in the server and node tarballs, deflated once) plus the first one or two
        // of its image tarball before the content-defined cuts meet the binary's again; nothing else.
        #expect(!added.isEmpty)
        #expect(added.count <= 2 * ((size >> 19) + 1), "\(added.count) new members for a \(size)-byte binary")
        #expect(added.count < first.count / 2, "\(added.count) of \(first.count)")
    }
}
