import Testing

@testable import KbuildConfig

/// The one glob matcher: the release's add-on excludes (`ReleaseConfig.Addons.excludes`) run through it.
@Suite struct GlobTests {
    @Test func globsMatchLikeAShell() {
        #expect(Glob.matches(pattern: "**/demo/**", path: "cluster/addons/demo/x.yaml"))
        #expect(Glob.matches(pattern: "**/*-test.yaml", path: "a/b/c-test.yaml"))
        #expect(Glob.matches(pattern: "*.yaml", path: "x.yaml"))
        #expect(!Glob.matches(pattern: "*.yaml", path: "dir/x.yaml"))
        #expect(!Glob.matches(pattern: "**/demo/**", path: "cluster/addons/demos/x.yaml"))
        #expect(Glob.matches(pattern: "a?c", path: "abc") && !Glob.matches(pattern: "a?c", path: "a/c"))
    }

    @Test func addonExcludesUseIt() {
        let addons = ReleaseConfig.Addons(dirs: ["cluster/addons"], exclude: ["**/demo/**", "**/*-test.yaml"])
        #expect(addons.excludes("cluster/addons/demo/x.yaml"))
        #expect(addons.excludes("cluster/addons/dns/dns-test.yaml"))
        #expect(!addons.excludes("cluster/addons/dns/dns.yaml"))
    }
}
