import Foundation
import KbuildConfig
import KbuildCore
import KbuildGo
import TestSupport
import Testing

/// Every spelling of `-X` that Go's linker honours (proved with a real `go build`
/// through kbuild's own ldflags quoting) is caught by the owned-variable check.
@Suite struct OwnedLDFlagsTests {
    static let variable = TinyModule.versionVariable
    static let spellings: [[String]] = [
        ["-X=\(variable)=v9.9.9"],
        ["--X=\(variable)=v9.9.9"],
        ["-X", "\(variable)=v9.9.9"],
        ["--X", "\(variable)=v9.9.9"],
        ["-s", "-X", "\(variable)=v9.9.9", "-w"],
    ]

    @Test(arguments: spellings)
    func goHonoursTheSpellingAndTheCheckCatchesIt(_ items: [String]) async throws {
        let workspace = try Workspace("kbuild-owned-ldflags")
        defer { workspace.remove() }
        let go = try await locateGo()
        let binary = workspace.directory.appending("alpha")
        try await Tool.check(
            go.executable, ["build", "-o", binary, "-ldflags", try GoBuilder.ldflagsValue(items), "./cmd/alpha"],
            in: workspace.root, environment: ["GOCACHE": sharedGoCache, "GOFLAGS": "-mod=mod", "GOPROXY": "off"])
        #expect(try await Tool.check(binary, ["--version"]) == "v9.9.9\n", "Go did not take \(items)")
        let found = LDFlagsValidation.firstOwnedAssignment(in: items, owned: [Self.variable])
        #expect(found?.variable == Self.variable)
        #expect(found.map { items[$0.item].contains(Self.variable) } == true)
    }

    @Test func otherVariablesAndFlagsPass() {
        let owned = ["k8s.io/x/pkg/version.gitVersion", "k8s.io/x/pkg/version.gitCommit"]
        for items in [
            ["-X=k8s.io/x/pkg/version.other=1", "-extldflags", "-static"], ["-X", "k8s.io/x/pkg/other.gitVersion=1"],
            ["-linkmode=external"], ["-X"], [],
        ] {
            #expect(LDFlagsValidation.firstOwnedAssignment(in: items, owned: owned) == nil, "\(items)")
        }
        // One item with a space, quotes around the value, the list of owned names as given.
        #expect(
            LDFlagsValidation.firstOwnedAssignment(in: ["-w", "-X 'k8s.io/x/pkg/version.gitCommit=abc'"], owned: owned)
                == .init(item: 1, variable: "k8s.io/x/pkg/version.gitCommit"))
        #expect(
            LDFlagsValidation.firstOwnedAssignment(in: ["-X=\"main.release=1\""], owned: ["main.release"])
                == .init(item: 0, variable: "main.release"))
    }
}
