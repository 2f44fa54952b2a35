import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild init --layout goreleaser`: a workspace without Kubernetes' cluster/ starts from the archives
/// `goreleaser init` configures, and the config releases as it is.
@Suite(.serialized) struct InitLayoutTests {
    @Test func initWithTheGoreleaserLayoutReleasesItsArchives() async throws {
        let dir = try TemporaryDirectory("kbuild-init-layout")
        defer { dir.remove() }
        let tool = dir.appending("tool")
        let repo = try await AdoptionEndToEndTests.toolWorkspace(in: tool, config: "")
        try FileManager.default.removeItem(atPath: tool + "/release")
        try "MIT\n".write(toFile: tool + "/LICENSE", atomically: true, encoding: .utf8)
        try await repo.commitAll("No config")
        let initialized = try await runKbuild(["init", "--layout", "goreleaser"], in: tool)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        let text = try String(contentsOfFile: tool + "/release/kbuild.yaml", encoding: .utf8)
        #expect(text.contains("  - name: \"{{project}}_{{os | title}}_{{arch | uname}}\"\n"), "\(text)")
        try await repo.commitAll("Release config")
        try await repo.git("tag", "-a", "v1.2.3", "-m", "v1.2.3")
        let released = try await runKbuild(["release"], in: tool)
        try #require(released.succeeded, "\(released.stderr)")
        let host = Platform.host
        let os = host.os.prefix(1).uppercased() + host.os.dropFirst()
        let arch = ["amd64": "x86_64", "386": "i386", "arm": "armv7"][host.arch] ?? host.arch
        let tars = tool + "/_output/release-tars"
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
        #expect(names.contains("tool_\(os)_\(arch).tar.gz") && names.contains("checksums.txt"), "\(names.sorted())")
        let listing = try await Tool.check("tar", ["-tzf", tars + "/tool_\(os)_\(arch).tar.gz"])
        #expect(listing == "LICENSE\ntool\n", "\(listing)")
        let verified = try await runKbuild(["verify"], in: tool)
        #expect(verified.succeeded, "\(verified.stdout)")

        // An unknown layout is a usage error naming the allowed ones.
        let unknown = try await runKbuild(["init", "--force", "--layout", "gradle"], in: tool)
        #expect(unknown.status == 64, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("kubernetes") && unknown.stderr.contains("goreleaser"), "\(unknown.stderr)")
    }
}
