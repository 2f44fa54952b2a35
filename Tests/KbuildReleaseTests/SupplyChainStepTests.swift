import Testing

@testable import KbuildRelease

/// What the provenance may say about the git remote: never credentials, never a path of this machine.
@Suite struct SupplyChainStepTests {
    @Test(
        arguments: [
            ("https://github.com/kubernetes/kubernetes.git", "https://github.com/kubernetes/kubernetes.git"),
            ("https://bot:ghp_secret@github.com/org/repo", "https://github.com/org/repo"),
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
