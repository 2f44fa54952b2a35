import Foundation
import KbuildCore
import KbuildProof
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
        #expect(SourceReference.publicRemote(remote) == published)
    }

    /// The provenance step reads the config once, when it is made: unreadable is an error, never a key
    /// or a document without the config's digest; its key carries the digest the document names.
    @Test func theProvenanceKeyCarriesTheConfigDigestAndAnUnreadableConfigIsAnError() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let scratch = PackageScratch(fixture.plan.layout)
        let missing = fixture.directory.appending("release/missing.yaml")
        #expect {
            _ = try ProvenanceStep(scratch: scratch, source: nil, configFile: missing)
        } throws: { error in
            guard case ReleaseError.io(let path, _) = error else { return false }
            return path == missing
        }
        let config = fixture.directory.appending("release/kbuild.yaml")
        try writeFile(config, "project: example\n")
        let step = try ProvenanceStep(scratch: scratch, source: nil, configFile: config)
        let inputs = try await step.inputs(ReleaseDraft(), in: fixture.context())
        let digest = String(try await Tool.check("sha256sum", [config]).prefix(64))
        #expect(inputs.configSHA256 == digest)
        #expect(step.config?.sha256 == digest)
    }
}
