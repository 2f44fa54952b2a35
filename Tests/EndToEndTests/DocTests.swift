import Foundation
import KbuildCore
import TestSupport
import Testing

/// Every `sh` block of README.md and docs/ runs, in page order, in a fresh copy of this repository,
/// with the built kbuild on PATH: the docs cannot drift from the code (conventions in DocBlocks.swift).
@Suite(.serialized) struct DocTests {
    static let pages: [DocPage] = ((try? DocPage.all(root: Repository.root)) ?? []).filter { page in
        page.steps.contains { if case .run = $0 { return true } else { return false } }
    }

    @Test func everyPageParsesAndTheReadmeHasCommandsToRun() throws {
        let pages = try DocPage.all(root: Repository.root)
        #expect(pages.contains { $0.path == "README.md" })
        #expect(Self.pages.contains { $0.path == "README.md" }, "the README's quick start has no sh block to run")
    }

    @Test func directivesAreCheckedNotIgnored() throws {
        #expect(throws: DocDirectiveError.self) { try DocPage.parse(path: "x.md", text: "<!-- doctest: skip -->\n") }
        #expect(throws: DocDirectiveError.self) { try DocPage.parse(path: "x.md", text: "<!-- doctest: run -->\n") }
        #expect(throws: DocDirectiveError.self) { try DocPage.parse(path: "x.md", text: "```sh\necho open\n") }
        let page = try DocPage.parse(
            path: "x.md",
            text:
                "<!-- doctest-setup\nmkdir d\n-->\n```sh\ncd d\n```\n<!-- doctest: skip needs a server -->\n```sh\nx\n```\n"
        )
        #expect(
            page.steps == [
                .setup(line: 1, script: "mkdir d"), .run(line: 4, script: "cd d"),
                .skip(line: 7, reason: "needs a server"),
            ])
    }

    @Test(arguments: pages) func commandsOfThePageRun(_ page: DocPage) async throws {
        let dir = try TemporaryDirectory("kbuild-doctest")
        defer { dir.remove() }
        let copy = try await Self.freshCopy(in: dir)
        let result = try await Tool.run(
            "timeout", ["--signal=KILL", "1200", "bash", "-euo", "pipefail", "-c", page.script], in: copy,
            environment: try Self.environment(dir: dir, copy: copy))
        let last = result.stderr.split(separator: "\n").last { $0.hasPrefix("doctest: ") } ?? "before the first block"
        #expect(
            result.status == 0,
            "\(page.path): failed at \(last.dropFirst("doctest: ".count)) (exit \(result.status))\n\(result.stderr.suffix(3000))"
        )
    }

    /// The repository's tracked and untracked-but-not-ignored files as they are in the working tree,
    /// committed once in a new git repository: what a fresh clone of this change holds.
    static func freshCopy(in dir: TemporaryDirectory) async throws -> String {
        let copy = dir.appending("kbuild")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try await Tool.check(
            "bash",
            [
                "-c",
                "git -C \"$1\" ls-files -z --cached --others --exclude-standard"
                    + " | tar -C \"$1\" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C \"$2\" -xf -",
                "copy", Repository.root, copy,
            ])
        let repo = try await GitRepository.create(at: copy)
        try await repo.commitAll("doctest copy")
        return copy
    }

    /// A user's environment: their own HOME, kbuild on PATH, none of kbuild's settings from the caller;
    /// TMPDIR inside the test's directory, so what the pages' `mktemp -d` make goes with it.
    static func environment(dir: TemporaryDirectory, copy: String) throws -> [String: String?] {
        let bin = dir.appending("bin")
        let home = dir.appending("home")
        let tmp = dir.appending("tmp")
        for path in [bin, home, tmp] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(
            atPath: bin + "/kbuild", withDestinationPath: Repository.kbuildBinary)
        var env: [String: String?] = [
            "HOME": home, "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "KBUILD_PREBUILT": Repository.kbuildBinary, "KBUILD_GOCACHE": SharedGoCache.path,
            "GOCACHE": SharedGoCache.path, "DOCTEST_ROOT": copy, "GIT_CONFIG_NOSYSTEM": "1", "TMPDIR": tmp,
        ]
        for name in ProcessInfo.processInfo.environment.keys
        where name.hasPrefix("KUBE_") || (name.hasPrefix("KBUILD_") && env[name] == nil) {
            env[name] = .some(nil)
        }
        return env
    }
}
