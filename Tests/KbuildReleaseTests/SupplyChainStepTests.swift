import Foundation
import KbuildCore
import TestSupport
import Testing

@testable import KbuildRelease

/// What the provenance may say about the git remote (never credentials, never a path of this machine),
/// and what its cache key is made of.
@Suite struct SupplyChainStepTests {
    @Test(
        arguments: [
            ("https://github.com/kubernetes/kubernetes.git", "https://github.com/kubernetes/kubernetes.git"),
            ("https://bot:ghp_secret@github.com/org/repo", "https://github.com/org/repo"),
            ("https://example.com/x.git?token=ghp_secret", "https://example.com/x.git"),
            ("https://example.com/x.git#ghp_secret", "https://example.com/x.git"),
            ("https://u:p@example.com/x.git?access_token=s&x=1#frag", "https://example.com/x.git"),
            ("https://example.com?token=s", "https://example.com"),
            ("git@github.com:org/repo.git?token=s", "ssh://github.com/org/repo.git"),
            ("ssh://git@example.com:2222/org/repo.git", "ssh://example.com:2222/org/repo.git"),
            ("git@github.com:org/repo.git", "ssh://github.com/org/repo.git"),
            ("/srv/git/repo.git", nil),
            ("../repo", nil),
            ("file:///srv/git/repo.git", nil),
        ] as [(String, String?)])
    func remotesArePublishedWithoutSecretsOrLocalPaths(remote: String, published: String?) {
        #expect(ProvenanceStep.publicRemote(remote) == published)
    }

    /// The provenance's key and its run read the config one way: unreadable is an error in both, never
    /// a key without the config's digest.
    @Test func theProvenanceKeyCarriesTheConfigDigestAndAnUnreadableConfigIsAnError() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        func context(config: String) -> StepContext {
            var options = ReleaseOptions(jobs: 2, skipBuild: true)
            options.proof = ProofOptions(configFile: config)
            return StepContext(
                plan: fixture.plan, options: options, toolchain: .failure(.goNotFound(searchedPath: "")),
                processes: SubprocessRunner(), cache: OutputCache(directory: fixture.plan.layout.cache),
                progress: { _ in })
        }
        let draft = ReleaseDraft(sources: "")
        let missing = fixture.directory.appending("release/missing.yaml")
        await #expect {
            _ = try await ProvenanceStep().inputs(draft, in: context(config: missing))
        } throws: { error in
            guard case ReleaseError.io(let path, _) = error else { return false }
            return path == missing
        }
        let config = fixture.directory.appending("release/kbuild.yaml")
        try writeFile(config, "project: example\n")
        let inputs = try await ProvenanceStep().inputs(draft, in: context(config: config))
        let digest = String(try await Tool.check("sha256sum", [config]).prefix(64))
        #expect(inputs.configSHA256 == digest)
    }
}
