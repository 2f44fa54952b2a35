import Foundation
import KbuildCore
import KbuildProof
import TestSupport
import Testing

@Suite struct GoBuildInfoTests {
    @Test func readsWhatGoVersionMPrintsFromELFMachOAndPE() async throws {
        let fixture = try await GoFixture.build()
        defer { fixture.remove() }
        for platform in GoFixture.platforms {
            let path = try #require(fixture.binaries["\(platform.os)/\(platform.arch)/app"])
            let read = try #require(GoBuildInfo.read(binary: try Data(contentsOf: URL(fileURLWithPath: path))))
            let printed = try GoBuildInfo.parse(goVersionOutput: try await Tool.check("go", ["version", "-m", path]))
            #expect(read == printed, "\(platform)")
            #expect(read.path == "example.com/app/cmd/app")
            #expect(read.main?.path == "example.com/app")
            // Replaced by a local directory: the module keeps its name, at (devel).
            #expect(read.dependencies == [GoModule(path: "example.com/dep", version: "(devel)")])
            #expect(read.settings["GOOS"] == platform.os && read.settings["GOARCH"] == platform.arch)
            #expect(read.goVersion.hasPrefix("go1."))
        }
    }

    @Test func parsesDependencyAndReplacementLines() {
        let text = """
            /tmp/bin: go1.19.8
            \tpath\tk8s.io/example/cmd/kubectl
            \tmod\tk8s.io/example\t(devel)\t
            \tdep\tgithub.com/spf13/cobra\tv1.6.0\th1:abc=
            \tdep\tgolang.org/x/sys\tv0.1.0\th1:def=
            \t=>\tgolang.org/x/sys\tv0.2.0\th1:ghi=
            \tbuild\t-ldflags=-X 'a=b c'
            """
        let info = try? GoBuildInfo.parse(goVersionOutput: text)
        #expect(info?.goVersion == "go1.19.8")
        #expect(
            info?.dependencies == [
                GoModule(path: "github.com/spf13/cobra", version: "v1.6.0", sum: "h1:abc="),
                GoModule(path: "golang.org/x/sys", version: "v0.2.0", sum: "h1:ghi="),
            ])
        #expect(info?.settings["-ldflags"] == "-X 'a=b c'")
        #expect(GoBuildInfo.read(binary: Data("no build info here".utf8)) == nil)
    }
}
