import Foundation
import KbuildCore
import KbuildVersion
import TestSupport
import Testing

/// A temp git repository with one commit and a base.go, removed at the end.
private func withRepository(
    baseGo: String? =
        "package version\n\nvar (\n\tgitVersion = \"v0.5-dev\"\n\tgitCommit = \"\"\n\tgitTreeState = \"not a git tree\"\n)\n",
    _ body: (GitRepository) async throws -> Void
) async throws {
    let directory = try TemporaryDirectory("kbuild-version")
    defer { directory.remove() }
    let repo = try await GitRepository.create(at: directory.path)
    try repo.write("main.go", "package main\n\nfunc main() {}\n")
    if let baseGo { try repo.write("pkg/version/base.go", baseGo) }
    try await repo.commitAll("Initial commit")
    try await body(repo)
}

/// What git itself says, for comparison (never hard-coded hashes).
private func describe(_ repo: GitRepository) async throws -> String {
    try await repo.git("describe", "--tags", "--match=v*", "--abbrev=14", "HEAD^{commit}")
}

private func resolve(
    _ repo: GitRepository, _ environment: [String: String] = ["SOURCE_DATE_EPOCH": "0"],
    style: VersionStyle = .semver, baseFile: String = "pkg/version/base.go"
) async throws -> VersionInfo {
    try await VersionResolver().resolve(
        workspace: repo.path, environment: environment, baseFile: baseFile, style: style)
}

@Suite struct VersionResolverTests {
    @Test func exactAnnotatedTag() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.30.0", "-m", "v1.30.0")
            let info = try await resolve(repo)
            #expect(try await describe(repo) == "v1.30.0")
            #expect(info.version == "v1.30.0")
            #expect(info.major == "1")
            #expect(info.minor == "30")
            #expect(info.commit == (try await repo.git("rev-parse", "HEAD")))
            #expect(info.treeState == "clean")
            #expect(info.source == .git)
            #expect(info.buildDate == "1970-01-01T00:00:00Z")
        }
    }

    @Test func lightweightTag() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "v2.1.3")
            let info = try await resolve(repo)
            #expect(info.version == "v2.1.3")
            #expect(info.major == "2")
            #expect(info.minor == "1")
        }
    }

    @Test func commitsAfterATag() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.30.0", "-m", "v1.30.0")
            for n in 1...3 { try await repo.commitAll("change \(n)") }
            let raw = try await describe(repo)
            let hash = String(try await repo.git("rev-parse", "HEAD").prefix(14))
            #expect(raw == "v1.30.0-3-g\(hash)")
            let info = try await resolve(repo)
            #expect(info.version == "v1.30.0-3+\(hash)")
            #expect(info.major == "1")
            #expect(info.minor == "30+")
        }
    }

    @Test(arguments: ["v1.31.0-alpha.1", "v1.31.0-rc.0", "v2.0-beta.2"])
    func preReleaseTagsWithCommitsAfter(tag: String) async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", tag, "-m", tag)
            #expect(try await resolve(repo).version == tag)
            try await repo.commitAll("one")
            try await repo.commitAll("two")
            let hash = String(try await repo.git("rev-parse", "HEAD").prefix(14))
            #expect(try await describe(repo) == "\(tag)-2-g\(hash)")
            let info = try await resolve(repo)
            #expect(info.version == "\(tag).2+\(hash)")
            #expect(info.minor.hasSuffix("+"))
        }
    }

    @Test func dirtyByModifiedFile() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.0.0", "-m", "v1.0.0")
            try repo.write("main.go", "package main\n\nfunc main() { println() }\n")
            let info = try await resolve(repo)
            #expect(info.treeState == "dirty")
            #expect(info.version == "v1.0.0-dirty")
            #expect(info.minor == "0+")
        }
    }

    @Test func dirtyByUntrackedFileOnly() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.0.0", "-m", "v1.0.0")
            try await repo.commitAll("after")
            try repo.write("new.go", "package main\n")
            // git describe --dirty would not notice; version.sh's git status does.
            let gitDirty = try await repo.git("describe", "--tags", "--match=v*", "--abbrev=14", "--dirty")
            #expect(!gitDirty.hasSuffix("-dirty"))
            let hash = String(try await repo.git("rev-parse", "HEAD").prefix(14))
            let info = try await resolve(repo)
            #expect(info.treeState == "dirty")
            #expect(info.version == "v1.0.0-1+\(hash)-dirty")
        }
    }

    @Test func describeStyleKeepsRawForm() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v0.5", "-m", "v0.5")
            try await repo.commitAll("after")
            let raw = try await describe(repo)
            #expect(try await resolve(repo, style: .describe).version == raw)
            try repo.write("untracked", "x")
            let dirty = try await resolve(repo, style: .describe)
            #expect(dirty.version == raw + "-dirty")
            #expect(dirty.major == "0")
            #expect(dirty.minor == "5+")
        }
    }

    @Test func noVTagFallsBackToBaseGoWithCommitFromGit() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "release-1", "-m", "not a v tag")
            let info = try await resolve(repo)
            #expect(info.version == "v0.5-dev")
            #expect(info.major == "0")
            #expect(info.minor == "5+")
            #expect(info.commit == (try await repo.git("rev-parse", "HEAD")))
            #expect(info.treeState == "clean")
            #expect(info.source == .baseGo)
        }
    }

    @Test func noVTagAndNoBaseGoIsAClearError() async throws {
        try await withRepository(baseGo: nil) { repo in
            await #expect {
                try await resolve(repo)
            } throws: { error in
                guard case .noVersion(_, let baseFile, let reason) = error as? VersionError else { return false }
                return baseFile == "pkg/version/base.go" && reason.contains("no v* tag")
                    && "\(error)".contains("KUBE_GIT_VERSION")
            }
        }
    }

    @Test func invalidTagIsRejected() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "vfoo", "-m", "vfoo")
            await #expect(throws: VersionError.invalidVersion(version: "vfoo", origin: "git describe")) {
                try await resolve(repo)
            }
        }
    }

    @Test func baseGoWithoutGit() async throws {
        let directory = try TemporaryDirectory("kbuild-version-nogit")
        defer { directory.remove() }
        let workspace = GitRepository(path: directory.path)
        try workspace.write(
            "pkg/version/base.go",
            "package version\nconst gitVersion string = \"v1.4-dev\"\nconst gitCommit = \"0123abc\"\nconst gitTreeState = \"archive\"\n"
        )
        let info = try await resolve(workspace)
        #expect(
            info
                == VersionInfo(
                    version: "v1.4-dev", major: "1", minor: "4+", commit: "0123abc", treeState: "archive",
                    buildDate: "1970-01-01T00:00:00Z", source: .baseGo))
        // Without SOURCE_DATE_EPOCH and without git, the date is base.go's 1970 default.
        let date = try await VersionResolver().sourceDate(workspace: directory.path, environment: [:])
        #expect(date.seconds == 0)
        // And nothing at all is a clear error.
        try FileManager.default.removeItem(atPath: directory.appending("pkg"))
        await #expect {
            try await resolve(workspace)
        } throws: { error in
            guard case .noVersion(_, _, let reason) = error as? VersionError else { return false }
            return reason.contains("not in a git repository")
        }
    }

    @Test func baseGoWithInvalidVersionIsRejected() async throws {
        try await withRepository(baseGo: "package version\nvar gitVersion = \"v0.0.0-master+$Format:%H$\"\n") { repo in
            await #expect(
                throws: VersionError.invalidVersion(version: "v0.0.0-master+$Format:%H$", origin: "pkg/version/base.go")
            ) {
                try await resolve(repo)
            }
        }
    }

    // MARK: - Overrides

    @Test func versionFileWinsOverEverything() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.0.0", "-m", "v1.0.0")
            let file = repo.path + "/../" + Paths.name(of: repo.path) + ".version"
            defer { try? FileManager.default.removeItem(atPath: file) }
            try
                "KUBE_GIT_COMMIT='feedface'\nKUBE_GIT_TREE_STATE='archive'\nKUBE_GIT_VERSION='v9.8.7-rc.1'\nKUBE_GIT_MAJOR='9'\nKUBE_GIT_MINOR='8+'\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            let info = try await resolve(
                repo,
                [
                    "KUBE_GIT_VERSION_FILE": file, "KUBE_GIT_VERSION": "v5.5.5", "KUBE_GIT_COMMIT": "beef",
                    "SOURCE_DATE_EPOCH": "1700000000",
                ])
            #expect(
                info
                    == VersionInfo(
                        version: "v9.8.7-rc.1", major: "9", minor: "8+", commit: "feedface", treeState: "archive",
                        buildDate: "2023-11-14T22:13:20Z", source: .file))
        }
    }

    @Test func versionFileErrors() async throws {
        try await withRepository { repo in
            let missing = repo.path + "/missing.version"
            await #expect {
                try await resolve(repo, ["KUBE_GIT_VERSION_FILE": missing])
            } throws: { error in
                guard case .unreadableFile(let path, _) = error as? VersionError else { return false }
                return path == missing
            }
            let bad = repo.path + "/bad.version"
            try "KUBE_GIT_VERSION='v1.0.0'\nKUBE_GIT_COMMIT=abc\n".write(toFile: bad, atomically: true, encoding: .utf8)
            await #expect {
                try await resolve(repo, ["KUBE_GIT_VERSION_FILE": bad])
            } throws: { error in "\(error)".hasPrefix("\(bad):2: ") }
            try "KUBE_GIT_COMMIT='abc'\n".write(toFile: bad, atomically: true, encoding: .utf8)
            await #expect(throws: VersionError.versionFileWithoutVersion(path: bad)) {
                try await resolve(repo, ["KUBE_GIT_VERSION_FILE": bad])
            }
        }
    }

    @Test func environmentVersionIsRewrittenAndMarkedDirty() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.0.0", "-m", "v1.0.0")
            let info = try await resolve(
                repo,
                [
                    "KUBE_GIT_VERSION": "v2.0.0-3-gabcdefabcdefab", "KUBE_GIT_TREE_STATE": "dirty",
                    "SOURCE_DATE_EPOCH": "0",
                ])
            #expect(info.version == "v2.0.0-3+abcdefabcdefab-dirty")
            #expect(info.major == "2")
            #expect(info.minor == "0+")
            #expect(info.treeState == "dirty")
            #expect(info.commit == (try await repo.git("rev-parse", "HEAD")))
            #expect(info.source == .environment)
        }
    }

    @Test func environmentCommitAndTreeStateFeedGitDescribe() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.0.0", "-m", "v1.0.0")
            let tagged = try await repo.git("rev-parse", "HEAD")
            try await repo.commitAll("later")
            try repo.write("untracked", "x")
            // KUBE_GIT_COMMIT picks the commit described; KUBE_GIT_TREE_STATE replaces git status.
            let info = try await resolve(
                repo, ["KUBE_GIT_COMMIT": tagged, "KUBE_GIT_TREE_STATE": "clean", "SOURCE_DATE_EPOCH": "0"])
            #expect(info.version == "v1.0.0")
            #expect(info.commit == tagged)
            #expect(info.treeState == "clean")
            #expect(info.source == .environment)
        }
    }

    @Test func environmentVersionWithoutGit() async throws {
        let directory = try TemporaryDirectory("kbuild-version-env")
        defer { directory.remove() }
        let info = try await VersionResolver().resolve(
            workspace: directory.path,
            environment: ["KUBE_GIT_VERSION": "v3.1.4", "KUBE_GIT_COMMIT": "", "SOURCE_DATE_EPOCH": "86400"],
            baseFile: "pkg/version/base.go", style: .semver)
        #expect(
            info
                == VersionInfo(
                    version: "v3.1.4", major: "3", minor: "1", commit: "", treeState: "",
                    buildDate: "1970-01-02T00:00:00Z",
                    source: .environment))
        #expect(
            info.ldflags(package: "p") == [
                "-X", "p.buildDate=1970-01-02T00:00:00Z", "-X", "p.gitVersion=v3.1.4", "-X", "p.gitMajor=3", "-X",
                "p.gitMinor=1",
            ])
        await #expect(throws: VersionError.invalidVersion(version: "vfoo", origin: "KUBE_GIT_VERSION")) {
            try await VersionResolver().resolve(
                workspace: directory.path, environment: ["KUBE_GIT_VERSION": "vfoo"], baseFile: "x.go", style: .semver)
        }
    }

    @Test func environmentValuesWithQuotesAreRejected() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "v1.0.0")
            await #expect(
                throws: VersionError.invalidOverride(
                    variable: "KUBE_GIT_TREE_STATE", value: "it's", allowed: "clean, dirty or archive")
            ) {
                try await resolve(repo, ["KUBE_GIT_TREE_STATE": "it's"])
            }
        }
    }

    @Test func versionFileRoundTrip() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.31.0-alpha.1", "-m", "x")
            try await repo.commitAll("after")
            try repo.write("untracked", "x")
            let original = try await resolve(repo, ["SOURCE_DATE_EPOCH": "1700000000"])
            let file = repo.path + "/.git/kbuild-version"
            try FileOutput.writeAtomically(original.versionFile, to: file)
            // Load it into a tree that has changed since: the file wins, byte for byte.
            try await repo.commitAll("more")
            let loaded = try await resolve(
                repo, ["KUBE_GIT_VERSION_FILE": file, "SOURCE_DATE_EPOCH": "1700000000"])
            var expected = original
            expected.source = .file
            #expect(loaded == expected)
            #expect(loaded.versionFile == original.versionFile)
        }
    }

    @Test func embeddedVersionFileServesAnUnpackedSourceTreeButNotACheckout() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v2.1.0", "-m", "v2.1.0")
            let original = try await resolve(repo)
            // An unpacked source tarball nested inside this checkout: no .git of its own.
            let unpacked = repo.path + "/unpacked"
            try FileOutput.writeAtomically(
                original.versionFile, to: unpacked + "/" + VersionResolver.embeddedVersionFile)
            let fromFile = try await VersionResolver().resolve(
                workspace: unpacked, environment: ["SOURCE_DATE_EPOCH": "0"])
            #expect(fromFile.version == "v2.1.0" && fromFile.source == .file && fromFile.commit == original.commit)
            // At the top of a checkout, git wins over a stray file.
            try FileOutput.writeAtomically(
                "KUBE_GIT_VERSION='v9.9.9'\n", to: repo.path + "/" + VersionResolver.embeddedVersionFile)
            let fromGit = try await resolve(repo)
            #expect(fromGit.source == .git && fromGit.version.hasPrefix("v2.1.0"))
        }
    }

    // MARK: - Dates and ldflags

    @Test(arguments: ["abc", "1.5", "-1", "1e9", "253402300800", "0x10"])
    func invalidSourceDateEpoch(value: String) async throws {
        try await withRepository { repo in
            try await repo.git("tag", "v1.0.0")
            await #expect {
                try await resolve(repo, ["SOURCE_DATE_EPOCH": value])
            } throws: { error in
                guard case .sourceDate = error as? VersionError else { return false }
                return "\(error)".contains("SOURCE_DATE_EPOCH='\(value)'")
            }
        }
    }

    @Test func buildDateDefaultsToHeadCommitTime() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "v1.0.0")
            let seconds = try await repo.git("show", "-s", "--format=%ct", "HEAD")
            let expected = try SourceDate(parsing: seconds).rfc3339
            #expect(expected == "2024-01-02T03:04:05Z")
            #expect(try await resolve(repo, [:]).buildDate == expected)
        }
    }

    @Test func ldflagsCarryEveryValue() async throws {
        try await withRepository { repo in
            try await repo.git("tag", "-a", "v1.30.0", "-m", "v1.30.0")
            try await repo.commitAll("after")
            let info = try await resolve(repo, ["SOURCE_DATE_EPOCH": "1700000000"])
            let commit = try await repo.git("rev-parse", "HEAD")
            let pkg = "example.com/x/pkg/version"
            #expect(
                info.ldflags(package: pkg) == [
                    "-X", "\(pkg).buildDate=2023-11-14T22:13:20Z", "-X", "\(pkg).gitCommit=\(commit)",
                    "-X", "\(pkg).gitTreeState=clean", "-X", "\(pkg).gitVersion=\(info.version)",
                    "-X", "\(pkg).gitMajor=1", "-X", "\(pkg).gitMinor=30+",
                ])
            #expect(
                info.ldflagsString(package: pkg)
                    == "-X '\(pkg).buildDate=2023-11-14T22:13:20Z' -X '\(pkg).gitCommit=\(commit)' -X '\(pkg).gitTreeState=clean' -X '\(pkg).gitVersion=\(info.version)' -X '\(pkg).gitMajor=1' -X '\(pkg).gitMinor=30+'"
            )
        }
    }
}
