import KbuildVersion
import Testing

@Suite struct VersionFileTests {
    @Test func rendersKubernetesFormat() {
        let info = VersionInfo(
            version: "v1.30.0-5+0123456789abcd", major: "1", minor: "30+", commit: "abc", treeState: "clean",
            buildDate: "2024-01-02T03:04:05Z", source: .git)
        #expect(
            info.versionFile == """
                KUBE_GIT_COMMIT='abc'
                KUBE_GIT_TREE_STATE='clean'
                KUBE_GIT_VERSION='v1.30.0-5+0123456789abcd'
                KUBE_GIT_MAJOR='1'
                KUBE_GIT_MINOR='30+'

                """)
    }

    @Test func parsesWhatItRenders() throws {
        let variables = VersionVariables(
            commit: "c'o\\mmit", treeState: "archive", version: "v1.2.3", major: "1", minor: "2")
        let text = VersionFile.render(variables)
        #expect(try VersionFile.parse(text, path: "v") == variables)
    }

    @Test func commentsBlankLinesAndEmptyValues() throws {
        let text = "# saved by kbuild\n\nKUBE_GIT_VERSION='v0.5'\nKUBE_GIT_COMMIT=''\n"
        let variables = try VersionFile.parse(text, path: "v")
        #expect(variables == VersionVariables(version: "v0.5"))
    }

    @Test(arguments: [
        ("KUBE_GIT_VERSION='v1'\nKUBE_GIT_FOO='x'\n", 2, "unknown key"),
        ("KUBE_GIT_VERSION=v1.2.3\n", 1, "single-quoted"),
        ("KUBE_GIT_VERSION='v1.2.3\n", 1, "single-quoted"),
        ("KUBE_GIT_VERSION='v1.2.3' \n", 1, "single-quoted"),
        ("KUBE_GIT_VERSION=\"v1.2.3\"\n", 1, "single-quoted"),
        ("\n\nexport KUBE_GIT_VERSION='v1'\n", 3, "unknown key"),
        ("KUBE_GIT_VERSION='a'\nKUBE_GIT_VERSION='b'\n", 2, "set twice"),
        ("just words\n", 1, "expected KEY='value'"),
        ("KUBE_GIT_VERSION = 'v1'\n", 1, "unknown key"),
    ])
    func malformedLineNamesFileAndLine(text: String, line: Int, fragment: String) {
        #expect {
            try VersionFile.parse(text, path: "dir/version.env")
        } throws: { error in
            guard case .syntax(let path, let number, let message) = error as? VersionError else { return false }
            return path == "dir/version.env" && number == line && message.contains(fragment)
                && "\(error)".hasPrefix("dir/version.env:\(line): ")
        }
    }
}
