import KbuildVersion
import Testing

@Suite struct VersionRewriterTests {
    @Test(arguments: [
        // Exact tags stay as they are.
        ("v1.30.0", "v1.30.0"),
        ("v1.31.0-alpha.1", "v1.31.0-alpha.1"),
        ("v0.5", "v0.5"),
        // Two dashes: distance to a release tag.
        ("v1.30.0-5-g0123456789abcd", "v1.30.0-5+0123456789abcd"),
        ("v0.5-15-g0123abcd456789", "v0.5-15+0123abcd456789"),
        // Three dashes: distance to a pre-release tag.
        ("v1.31.0-alpha.1-123-g0123456789abcd", "v1.31.0-alpha.1.123+0123456789abcd"),
        ("v1.2.0-rc.0-7-gfedcba98765432", "v1.2.0-rc.0.7+fedcba98765432"),
        // Not a 14-digit abbreviation, or a dash count version.sh does not rewrite: unchanged.
        ("v1.30.0-5-g0123456789abc", "v1.30.0-5-g0123456789abc"),
        ("v1.30.0-5-g0123456789abcde", "v1.30.0-5-g0123456789abcde"),
        ("v1.30.0-5-g0123456789ABCD", "v1.30.0-5-g0123456789ABCD"),
        ("v1.0.0-rc-1-5-g0123456789abcd", "v1.0.0-rc-1-5-g0123456789abcd"),
        ("v1.31.0-alpha.1-x-g0123456789abcd", "v1.31.0-alpha.1-x-g0123456789abcd"),
        ("v1.31.0-alpha-123-g0123456789abcd", "v1.31.0-alpha.123+0123456789abcd"),
        ("", ""),
    ])
    func semverRewrite(describe: String, expected: String) {
        #expect(VersionRewriter.semver(fromDescribe: describe) == expected)
    }

    @Test(arguments: [
        ("v1.30.0", "1", "30"),
        ("v1.30.0-5+0123456789abcd", "1", "30+"),
        ("v1.30.0+build.1", "1", "30"),
        ("v0.5-dev", "0", "5+"),
        ("v0.5-15-g0123abcd4567", "0", "5+"),
        ("v12.345", "12", "345"),
    ])
    func majorMinor(version: String, major: String, minor: String) throws {
        let parts = try #require(VersionRewriter.majorMinor(of: version))
        #expect(parts.major == major)
        #expect(parts.minor == minor)
    }

    @Test(arguments: ["vfoo", "1.2.3", "v1", "v1.x", "v1.2.3.4", "", "v1.2_3"])
    func majorMinorRejects(version: String) {
        #expect(VersionRewriter.majorMinor(of: version) == nil)
    }

    @Test(arguments: [
        "v1.30.0", "v0.5", "v0.5-dev", "v1.30.0-5+0123456789abcd", "v1.31.0-alpha.1.123+0123456789abcd",
        "v1.30.0-dirty", "v1.30.0-5+0123456789abcd-dirty", "v0.5-15-g0123abcd4567", "v1.2.3+a.b-c",
        "v1.2.3-a-b-c",
    ])
    func valid(version: String) {
        #expect(VersionRewriter.isValid(version))
    }

    @Test(arguments: [
        "vfoo", "v1", "1.2.3", "v1.2.", "v1.2.3.4", "v1.2-", "v1.2+", "v1.2-a+", "v1.2-a_b", "v1.2+a+b",
        "v1.2 ", " v1.2", "V1.2", "v1.2-ä", "v1.2\n", "",
    ])
    func invalid(version: String) {
        #expect(!VersionRewriter.isValid(version))
    }

    @Test func releaseVersionHasNoBuildMetadata() {
        #expect(VersionRewriter.isReleaseVersion("v1.3"))
        #expect(VersionRewriter.isReleaseVersion("v1.3.0-rc.1"))
        #expect(!VersionRewriter.isReleaseVersion("v1.3+abc"))
        #expect(!VersionRewriter.isReleaseVersion("1.3"))
    }
}
