import Testing

@testable import KbuildRelease

/// What the provenance may say about the git remote: never credentials, never a path of this machine.
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
}
