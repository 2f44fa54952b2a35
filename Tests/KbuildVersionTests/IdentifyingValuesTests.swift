import KbuildVersion
import Testing

/// The stamped values a binary of a release must carry (`--skip-build`), from the config's stamp.
@Suite struct IdentifyingValuesTests {
    let info = VersionInfo(
        version: "v1.2.3", major: "1", minor: "2", commit: "abc123", treeState: "clean",
        buildDate: "2024-01-02T03:04:05Z", source: .git)

    @Test func kubernetesStampsVersionDateAndCommitInThatOrder() {
        let values = info.identifyingValues(.kubernetes(package: "k8s.io/example/pkg/version"))
        #expect(values.map(\.variable) == ["gitVersion", "buildDate", "gitCommit"])
        #expect(values.map(\.value) == ["v1.2.3", "2024-01-02T03:04:05Z", "abc123"])
    }

    @Test func aBareVersionStampIsLookedForBare() {
        let stamp = VersionStamp([
            .init(field: .bareVersion, package: "main", variable: "version"),
            .init(field: .commit, package: "main", variable: "commit"),
        ])
        #expect(info.identifyingValues(stamp).map(\.value) == ["1.2.3", "abc123"])
    }

    @Test func nothingStampedNothingToLookFor() {
        #expect(info.identifyingValues(VersionStamp([])).isEmpty)
        var noCommit = info
        noCommit.commit = ""
        #expect(
            noCommit.identifyingValues(.kubernetes(package: "p")).map(\.variable) == ["gitVersion", "buildDate"])
    }
}
