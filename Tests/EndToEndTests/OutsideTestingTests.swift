import Foundation
import KbuildCore
import TestSupport
import Testing

/// issue 13's cases that succeed: what must work, and say what it should, after outside testing.
@Suite(.serialized) struct OutsideTestingTests {
    /// A shallow clone without tags releases base.go's version with exactly one warning line (not in CI).
    @Test func aShallowCloneWithoutTagsWarnsOnce() async throws {
        let fixture = try await Fixture("shallow-warning")
        defer { fixture.cleanup() }
        try await fixture.makeShallowClone()
        let result = try await GoodRelease.kbuild(["version", "--short"], in: fixture.workspace, ["CI": nil])
        #expect(result.succeeded, "\(result.stderr)")
        #expect(result.stdout == "v0.1-dev\n")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix("warning: \(fixture.workspace) is a shallow clone") == true,
                "\(result.stderr)")
        // The same workspace in CI is refused, one line, exit 1.
        let ci = try await GoodRelease.kbuild(["version"], in: fixture.workspace, ["CI": "true"])
        #expect(ci.status == 1 && ci.stdout.isEmpty && ci.stderr.hasPrefix("error: ") && ci.stderr.filter { $0 == "\n" }.count == 1)
    }

    /// A checkout owned by another uid works once the user trusts it the way the error says.
    @Test func aTrustedCheckoutOfAnotherUserReleases() async throws {
        let fixture = try await Fixture("trusted")
        defer { fixture.cleanup() }
        try await fixture.ownByAnotherUser()
        let home = try fixture.emptyHome()
        let refused = try await GoodRelease.kbuild(["version", "--short"], in: fixture.workspace, home)
        #expect(refused.status == 1, "\(refused.stdout)")
        try await Tool.check(
            "git", ["config", "--global", "--add", "safe.directory", fixture.workspace], environment: home)
        let trusted = try await GoodRelease.kbuild(["version", "--short"], in: fixture.workspace, home)
        #expect(trusted.succeeded && trusted.stdout == "v1.0.0\n", "\(trusted.stderr)")
    }
}
