import Foundation
import KbuildCore
import TestSupport
import Testing

/// What a person and a CI job see while kbuild works: the live display in a real terminal (tmux),
/// plain progress in a pipe, JSON events checked against docs/log-format.schema.json, and GitHub
/// Actions' annotations and step summary.
@Suite(.serialized) struct ProgressOutputTests {
    /// Two platforms on an empty Go cache: Go compiles the standard library for each (~20 s here).
    static let coldBuild: [String: String?] = [
        "KBUILD_GOCACHE": nil, "KUBE_BUILD_PLATFORMS": "linux/amd64 linux/arm64",
        "SOURCE_DATE_EPOCH": "1700000000",
    ]

    /// `kubectl`'s platform line: `linux/amd64: compiling 12/53 packages, 4s, for …` → (12, 53, 4).
    static func progress(_ line: Substring, platform: String) -> (done: Int, total: Int, seconds: Int)? {
        guard line.hasPrefix("\(platform): compiling ") else { return nil }
        let words = line.dropFirst("\(platform): compiling ".count).split(separator: " ")
        let counts = words.first?.split(separator: "/").compactMap { Int($0) } ?? []
        guard counts.count == 2, words.count >= 3, let seconds = Int(words[2].dropLast(2)) else { return nil }
        return (counts[0], counts[1], seconds)
    }

    @Test func liveDisplayRedrawsInPlaceInATerminal() async throws {
        try #require(Tool.available("tmux"), "tmux is a test dependency (hack/install-deps.sh)")
        let dir = try TemporaryDirectory("kbuild-progress-tty")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.0.0")
        // A tmux server of this test's own, stopped whatever happens.
        let tmux = ["-L", "kbuild-test-\(getpid())"]
        defer {
            _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["tmux"] + tmux + ["kill-server"])
        }
        let script =
            "cd '\(repo.path)' && env -u KBUILD_GOCACHE -u NO_COLOR TERM=xterm KUBE_BUILD_PLATFORMS='linux/amd64 linux/arm64' "
            + "'\(Repository.kbuildBinary)' build --jobs 2; echo EXIT=$?; sleep 600"
        try await Tool.check(
            "tmux", tmux + ["new-session", "-d", "-s", "build", "-x", "120", "-y", "40", script])

        var screens: [String] = []
        var colored: String?
        for _ in 0..<3000 {
            try await Task.sleep(for: .milliseconds(100))
            let screen = try await Tool.check("tmux", tmux + ["capture-pane", "-p", "-t", "build"])
            screens.append(screen)
            if screen.contains("EXIT=") { break }
            if colored == nil, screen.contains(": compiling ") {
                // With its attributes (-e): the live lines are coloured, as NO_COLOR is not set.
                colored = try await Tool.check("tmux", tmux + ["capture-pane", "-p", "-e", "-t", "build"])
            }
        }
        let escaped = try #require(colored, "a progress line was seen")
        #expect(escaped.contains("\u{1b}[36m"), "\(escaped.debugDescription)")
        let last = try #require(screens.last)
        #expect(last.contains("EXIT=0"), "\(last)")
        #expect(last.contains("[10/10] built"), "a counter on a terminal: \(last)")
        #expect(!last.contains("compiling"), "the live region is gone at the end: \(last)")

        // The counts each platform's line showed, in order (sampled every 100 ms: an unloaded machine
        // compiles a platform's standard library in a few seconds).
        var seen: [String: [Int]] = [:]
        for screen in screens {
            let lines = screen.split(separator: "\n")
            for platform in ["linux/amd64", "linux/arm64"] {
                let drawn = lines.compactMap { Self.progress($0, platform: platform) }
                // Redrawn in place: one line per platform on the screen at any time, never a scrolling log.
                #expect(drawn.count <= 1, "\(platform) drawn \(drawn.count) times:\n\(screen)")
                if let now = drawn.first {
                    #expect(now.total > 20 && now.done <= now.total, "\(screen)")
                    seen[platform, default: []].append(now.done)
                }
            }
            #expect(!screen.contains("\u{1b}"), "no escape shows as text")
        }
        #expect(seen.values.contains { Set($0).count >= 3 }, "the count goes up while Go compiles: \(seen)")
        for (platform, counts) in seen { #expect(counts == counts.sorted(), "\(platform) never goes down: \(counts)") }
    }

    @Test func plainProgressInAPipeIsALinePerPlatformAtMostEveryTenSeconds() async throws {
        let dir = try TemporaryDirectory("kbuild-progress-plain")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.0.0")
        let result = try await runKbuild(["build", "--jobs", "2"], in: repo.path, Self.coldBuild)
        try #require(result.succeeded, "\(result.stderr)")
        #expect(!result.stdout.contains("\u{1b}"), "no ANSI in a pipe")
        #expect(!result.stdout.contains("[1/"), "no counter in a pipe")
        let lines = result.stdout.split(separator: "\n")
        for platform in ["linux/amd64", "linux/arm64"] {
            let reports = lines.compactMap { Self.progress($0, platform: platform) }
            #expect(!reports.isEmpty, "a cold build shows life per platform: \(result.stdout)")
            #expect(reports.allSatisfy { $0.total > 20 && $0.done <= $0.total }, "\(reports)")
            for (before, after) in zip(reports, reports.dropFirst()) {
                #expect(after.seconds - before.seconds >= 10, "\(platform): \(before) then \(after)")
                #expect(after.done >= before.done)
            }
        }
    }

    @Test func jsonEventsValidateAgainstTheDocumentedSchema() async throws {
        let dir = try TemporaryDirectory("kbuild-progress-json")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.0.0")
        let env: [String: String?] = [
            "KUBE_BUILD_PLATFORMS": "linux/amd64 linux/arm64", "SOURCE_DATE_EPOCH": "1700000000",
        ]
        let first = try await runKbuild(["release", "--log-format", "json"], in: repo.path, env)
        try #require(first.succeeded, "\(first.stderr)")
        let again = try await runKbuild(["release", "--log-format", "json"], in: repo.path, env)
        try #require(again.succeeded, "\(again.stderr)")
        let verified = try await runKbuild(["verify", "--log-format", "json"], in: repo.path, env)
        try #require(verified.succeeded, "\(verified.stderr)")
        let config = repo.path + "/release/kbuild.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try writeFile(
            config, text.replacingOccurrences(of: "linux/amd64, linux/arm64, linux/arm]", with: "linux/mips128]"))
        let line =
            text.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("linux/arm64, linux/arm]") }! + 1
        let broken = try await runKbuild(["release", "--log-format", "json"], in: repo.path, env)
        #expect(broken.status == 1 && broken.stderr.hasPrefix("error: "), "\(broken.stderr)")

        let events = try await validatedEvents(
            first.stdout + again.stdout + verified.stdout + broken.stdout, in: dir)
        let kinds = Set(events.compactMap { $0["event"] as? String })
        for kind in [
            "step-started", "step-finished", "binary-built", "binary-reused", "image-written", "file-written", "result",
            "error", "check",
        ] {
            #expect(kinds.contains(kind), "\(kind) in \(kinds.sorted())")
        }
        #expect(events.contains { $0["event"] as? String == "step-finished" && $0["outcome"] as? String == "reused" })
        let metadata = Set(
            events.filter { $0["kind"] as? String == "metadata" }.compactMap {
                ($0["path"] as? String)?.split(separator: "/").last
            })
        for name in ["SHA256SUMS", "SHA512SUMS", "artifacts.json", "kubernetes.intoto.jsonl"] {
            #expect(metadata.contains(Substring(name)), "\(name) in \(metadata.sorted())")
        }
        // The SBOM is an artifact of artifacts.json, so its event carries its own kind.
        #expect(
            events.contains {
                $0["kind"] as? String == "sbom" && ($0["path"] as? String)?.hasSuffix("/kubernetes.spdx.json") == true
            })
        // Every digest is the file's, as sha256sum computes it.
        for event in events
        where event["event"] as? String == "file-written" || event["event"] as? String == "binary-built" {
            let path = try #require(event["path"] as? String)
            let sum = try await Tool.check("sha256sum", [path], in: repo.path)
            #expect(sum.hasPrefix(try #require(event["sha256"] as? String) + " "), "\(path)")
        }
        let error = try #require(events.first { $0["event"] as? String == "error" })
        #expect(
            (error["file"] as? String)?.hasSuffix("release/kbuild.yaml") == true && error["line"] as? Int == line,
            "\(error)")
        #expect(error["column"] as? Int != nil, "\(error)")
    }

    @Test func underGitHubActionsConfigErrorsAnnotateAndReleasesSummarize() async throws {
        let dir = try TemporaryDirectory("kbuild-progress-github")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.0.0")
        let summary = dir.appending("step-summary.md")
        try writeFile(summary, "An earlier step's summary.\n")
        let env: [String: String?] = [
            "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": repo.path, "GITHUB_STEP_SUMMARY": summary,
            "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000",
        ]
        let released = try await runKbuild(["release"], in: repo.path, env)
        try #require(released.succeeded, "\(released.stderr)")
        let table = try String(contentsOfFile: summary, encoding: .utf8)
        #expect(table.hasPrefix("An earlier step's summary.\n"), "appended, never replaced")
        #expect(table.contains("### kbuild release: kubernetes v1.0.0"), "\(table)")
        #expect(table.contains("| File | Kind | Platform | Size | SHA-256 |"), "\(table)")
        let sums = try String(contentsOfFile: repo.path + "/_output/release-tars/SHA256SUMS", encoding: .utf8)
        for line in sums.split(separator: "\n") where line.hasSuffix(".tar.gz") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(table.contains("| \(parts[1]) |") && table.contains("`\(parts[0])`"), "\(line) in\n\(table)")
        }

        let config = repo.path + "/release/kbuild.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try writeFile(
            config,
            text.replacingOccurrences(of: "linux/amd64, linux/arm64, linux/arm]", with: "linux/amd64, linux/mips128]"))
        let line =
            text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
                $0.contains("linux/arm64, linux/arm]")
            }! + 1
        let failed = try await runKbuild(["release"], in: repo.path, env)
        #expect(failed.status == 1)
        let annotation = try #require(
            failed.stdout.split(separator: "\n").first { $0.hasPrefix("::error ") }, "\(failed.stdout)")
        #expect(annotation.hasPrefix("::error file=release/kbuild.yaml,line=\(line),col="), "\(annotation)")
        #expect(annotation.contains("::") && annotation.contains("linux/mips128"), "\(annotation)")
        #expect(try String(contentsOfFile: summary, encoding: .utf8).contains("### kbuild release failed"))

        // Outside GitHub Actions: no annotation.
        let plain = try await runKbuild(["release"], in: repo.path, ["GITHUB_ACTIONS": nil])
        #expect(plain.status == 1 && !plain.stdout.contains("::error"), "\(plain.stdout)")
    }

    /// Runs `kbuild build` on a cold cache in a fresh example workspace, in a tmux pane, with `variables`
    /// (`env` assignments) on top: every screen seen, and every byte written to the pane (`pipe-pane`).
    func buildInTmux(_ variables: String) async throws -> (screens: [String], raw: String) {
        let dir = try TemporaryDirectory("kbuild-progress-term")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.0.0")
        let tmux = ["-L", "kbuild-term-\(getpid())"]
        defer {
            _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["tmux"] + tmux + ["kill-server"])
        }
        // The build waits a second for pipe-pane to be in place, so no byte goes unrecorded.
        let script =
            "sleep 1; cd '\(repo.path)' && env -u KBUILD_GOCACHE -u NO_COLOR \(variables) KUBE_BUILD_PLATFORMS=linux/amd64 "
            + "'\(Repository.kbuildBinary)' build --jobs 2; echo EXIT=$?; sleep 600"
        try await Tool.check("tmux", tmux + ["new-session", "-d", "-s", "build", "-x", "120", "-y", "40", script])
        let raw = dir.appending("raw")
        try await Tool.check("tmux", tmux + ["pipe-pane", "-o", "-t", "build", "cat >> '\(raw)'"])
        var screens: [String] = []
        for _ in 0..<3000 {
            try await Task.sleep(for: .milliseconds(100))
            let screen = try await Tool.check("tmux", tmux + ["capture-pane", "-p", "-t", "build"])
            screens.append(screen)
            if screen.contains("EXIT=") { break }
        }
        try await Task.sleep(for: .milliseconds(500))  // pipe-pane's cat catches up with the last line
        let bytes = try Data(contentsOf: URL(fileURLWithPath: raw))
        return (screens, String(decoding: bytes, as: UTF8.self))
    }

    @Test func noColorDropsColourAndTermDumbGivesPlainLinesInATerminal() async throws {
        try #require(Tool.available("tmux"), "tmux is a test dependency (hack/install-deps.sh)")
        let cursorUp = #/\x1b\[\d+A/#

        // NO_COLOR: the live display still redraws in place (cursor moves), without a colour escape.
        let uncoloured = try await buildInTmux("TERM=xterm NO_COLOR=1")
        #expect(uncoloured.screens.last?.contains("EXIT=0") == true, "\(uncoloured.screens.last ?? "")")
        #expect(uncoloured.raw.contains("linux/amd64: compiling "), "the live display appeared: \(uncoloured.raw)")
        #expect(uncoloured.raw.contains(cursorUp), "redrawn in place: \(uncoloured.raw.debugDescription)")
        #expect(!uncoloured.raw.contains("\u{1b}[36m") && !uncoloured.raw.contains("\u{1b}[0m"), "no colour")
        #expect(uncoloured.raw.contains("[5/5] built"), "a counter on a terminal")

        // TERM=dumb: --progress auto is plain, even on a terminal: lines, no escape at all.
        let dumb = try await buildInTmux("TERM=dumb")
        #expect(dumb.screens.last?.contains("EXIT=0") == true, "\(dumb.screens.last ?? "")")
        #expect(!dumb.raw.contains("\u{1b}"), "no escape sequence: \(dumb.raw.debugDescription)")
        let plain = dumb.raw.split(whereSeparator: \.isNewline).compactMap {
            Self.progress($0, platform: "linux/amd64")
        }
        #expect(!plain.isEmpty, "plain progress lines: \(dumb.raw)")
        #expect(!dumb.raw.contains("[1/"), "no counter in plain lines")
    }

    @Test func cutDiffAndInitTakeLogFormatJSON() async throws {
        let dir = try TemporaryDirectory("kbuild-log-other")
        defer { dir.remove() }
        let repo = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.0.0")
        let cut = try await runKbuild(["cut", "v1.1", "--dry-run", "--log-format", "json"], in: repo.path)
        try #require(cut.succeeded, "\(cut.stderr)")
        let summary = dir.appending("summary.md")
        let refused = try await runKbuild(
            ["cut", "v1.0.0", "--log-format", "json"], in: repo.path,
            ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary])
        #expect(refused.status == 1, "an existing tag")
        // Under GitHub Actions the error is an annotation (on stderr: stdout is JSON) and in the summary.
        #expect(refused.stderr.contains("::error::"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: summary, encoding: .utf8).contains("### kbuild cut failed"))
        // Last: it rewrites the config, which makes the tree dirty for cut.
        let initialized = try await runKbuild(["init", "--force", "--log-format", "json"], in: repo.path)
        try #require(initialized.succeeded, "\(initialized.stderr)")
        try writeFile(dir.appending("a.json"), #"{"k": 1}"#)
        try writeFile(dir.appending("b.json"), #"{"k": 2}"#)
        let diff = try await runKbuild(
            ["diff", dir.appending("a.json"), dir.appending("b.json"), "--log-format", "json"], in: repo.path)
        #expect(diff.status == 1, "they differ: \(diff.stderr)")
        let events = try await validatedEvents(
            initialized.stdout + cut.stdout + refused.stdout + diff.stdout, in: dir)
        func first(_ command: String, _ event: String) -> [String: Any]? {
            events.first { $0["command"] as? String == command && $0["event"] as? String == event }
        }
        let wrote = try #require(first("init", "result"))
        #expect(
            (wrote["message"] as? String)?.hasPrefix("wrote ") == true
                || (wrote["details"] as? [String])?.first?.hasPrefix("wrote ") == true, "\(wrote)")
        let plan = try #require(first("cut", "result"))
        #expect(plan["message"] as? String == "Nothing was changed.", "\(plan)")
        #expect((plan["details"] as? [String])?.first == "Would cut v1.1 in .:", "\(plan)")
        #expect(first("cut", "error") != nil, "\(refused.stdout)")
        let difference = try #require(first("diff", "difference"))
        #expect(difference["change"] as? String == "changed" && difference["a"] != nil, "\(difference)")
        #expect(first("diff", "result")?["message"] as? String == "1 difference")
    }
}

/// The events of `--log-format json` output, parsed, each checked against docs/log-format.schema.json by
/// hack/validate-log-events.py (python3's jsonschema).
func validatedEvents(_ text: String, in directory: TemporaryDirectory) async throws -> [[String: Any]] {
    let log = directory.appending("events-\(UUID().uuidString).jsonl")
    try writeFile(log, text)
    let validated = try await Tool.check(
        "python3",
        [Repository.root + "/hack/validate-log-events.py", Repository.root + "/docs/log-format.schema.json", log])
    #expect(validated.hasPrefix("valid: "), "\(validated)")
    return try text.split(separator: "\n").map {
        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
    }
}
