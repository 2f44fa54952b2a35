import Foundation
import KbuildVersion
import Testing

@Suite struct BaseFileTests {
    static let kubernetesStyle = """
        package version

        // Base version information.
        var (
        \tgitMajor string // major version, always numeric
        \tgitMinor string // minor version, numeric possibly followed by "+"

        \tgitVersion   string = "v0.0.0-master+$Format:%H$"
        \tgitCommit    string = "$Format:%H$" // sha1 from git, output of $(git rev-parse HEAD)
        \tgitTreeState string = ""            // state of git tree, either "clean" or "dirty"

        \tbuildDate string = "1970-01-01T00:00:00Z" // build date in ISO8601 format
        )

        """

    @Test func readsVarBlockWithTypesAndComments() throws {
        let file = try BaseFile.parse(Self.kubernetesStyle, path: "base.go")
        #expect(file.gitVersion == "v0.0.0-master+$Format:%H$")
        #expect(file.gitCommit == "$Format:%H$")
        #expect(file.gitTreeState == "")
        #expect(file.definitions["gitVersion"]?.line == 8)
    }

    @Test func readsSingleLinesConstsRawStringsAndEscapes() throws {
        let text = """
            package version
            const gitVersion = "v0.5-dev";
            var gitCommit = `raw\\n`
            var gitTreeState string = "not a \\"git\\" tree\\t\\u00e9\\x41\\101"
            func f() { x := gitVersion; gitVersion := "ignored" }
            """
        let file = try BaseFile.parse(text, path: "base.go")
        #expect(file.gitVersion == "v0.5-dev")
        #expect(file.gitCommit == "raw\\n")
        #expect(file.gitTreeState == "not a \"git\" tree\té" + "AA")
    }

    @Test(arguments: [
        ("var gitVersion = computeVersion()", 1, "string literal"),
        ("var (\n gitVersion = \"v1\" + suffix\n)", 2, "after the string literal"),
        ("gitVersion = \"v1\"\ngitVersion = \"v2\"", 2, "defined twice"),
        ("gitVersion = \"v1", 1, "unterminated"),
        ("gitVersion = \"\\q\"", 1, "unknown escape"),
        ("gitVersion = `multi\nline`", 1, "raw string"),
    ])
    func rejectsWhatItCannotRead(text: String, line: Int, fragment: String) {
        #expect {
            try BaseFile.parse(text, path: "pkg/version/base.go")
        } throws: { error in
            guard case .syntax(_, let number, let message) = error as? VersionError else { return false }
            return number == line && message.contains(fragment)
                && "\(error)".hasPrefix("pkg/version/base.go:\(line): ")
        }
    }

    @Test func settingVersionChangesOnlyTheLiteral() throws {
        let updated = try BaseFile.settingVersion("v1.2", in: Self.kubernetesStyle, path: "base.go")
        let expected = Self.kubernetesStyle.replacingOccurrences(
            of: "\"v0.0.0-master+$Format:%H$\"", with: "\"v1.2\"")
        #expect(updated == expected)
        #expect(try BaseFile.parse(updated, path: "base.go").gitVersion == "v1.2")
    }

    @Test func settingVersionNeedsGitVersion() {
        #expect(throws: VersionError.baseFileWithoutVersion(path: "b.go")) {
            try BaseFile.settingVersion("v1.2", in: "package version\nvar gitCommit = \"\"\n", path: "b.go")
        }
    }
}
