import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

/// `kbuild release --publish`, and what publish says while it works: JSON events checked against
/// docs/log-format.schema.json, bytes pushed and uploaded on the display, and GitHub Actions' step summary.
/// Against Debian's docker-registry and nginx WebDAV, read back with skopeo and sha256sum.
@Suite(.serialized) struct PublishReportingTests {
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64 linux/arm64", "SOURCE_DATE_EPOCH": "1700000000",
        "REGISTRY_AUTH_FILE": "/nonexistent/auth.json", "DOCKER_CONFIG": "/nonexistent",
        "XDG_CONFIG_HOME": "/nonexistent",
    ]

    @Test func releaseDashPublishPushesTheReleaseAndAFailedPublishLeavesItIntact() async throws {
        let dir = try TemporaryDirectory("kbuild-release-publish")
        defer { dir.remove() }
        let workspace = try await Repository.exampleWorkspace(in: dir.appending("ws"), tag: "v1.5.0").path
        let registry = try await RegistryServer.start()
        defer { registry.stop() }

        let nowhere = try await runKbuild(["release", "--publish"], in: workspace, Self.environment)
        #expect(nowhere.status == 64 && nowhere.stderr.contains("nothing to publish to"), "\(nowhere.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace + "/_output/release-tars"), "no work before")

        let target = registry.host + "/k8s"
        let released = try await runKbuild(
            ["release", "--publish", "--registry", target, "--tls-verify=false"], in: workspace, Self.environment)
        try #require(released.succeeded, "\(released.stderr)\n\(released.stdout)")
        let lines = released.stdout.split(separator: "\n")
        let made = try #require(lines.firstIndex { $0.hasPrefix("release v1.5.0: ") }, "\(released.stdout)")
        let verified = try #require(lines.firstIndex { $0.hasPrefix("verified: ") }, "\(released.stdout)")
        #expect(made < verified, "released, then verified, then pushed")
        #expect(lines.last?.hasPrefix("published 3 images to \(target): ") == true, "\(released.stdout)")
        let raw = try await Tool.check(
            "skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(target)/kube-proxy:v1.5.0"])
        #expect(raw.contains("application/vnd.oci.image.index.v1+json"), "\(raw)")

        // The registry gone: the release is made and kept, the error says the publish half failed.
        let sums = try Data(contentsOf: URL(fileURLWithPath: workspace + "/_output/release-tars/SHA256SUMS"))
        registry.kill()  // a zombie until the deferred stop reaps it
        let failed = try await runKbuild(
            ["release", "--publish", "--registry", target, "--tls-verify=false", "--log-format", "json"],
            in: workspace, Self.environment)
        #expect(failed.status == 1)
        #expect(failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        let events = try await validatedEvents(failed.stdout, in: dir)
        let halves = events.compactMap { $0["event"] as? String }.filter { $0 == "released" || $0 == "error" }
        #expect(halves == ["released", "error"], "the release's line, then the publish's error: \(failed.stdout)")
        #expect(failed.stderr.hasPrefix("error: publish: "), "\(failed.stderr)")
        #expect(failed.stderr.contains("release v1.5.0 itself is complete and intact in "), "\(failed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: workspace + "/_output/release-tars/SHA256SUMS")) == sums)
        let check = try await runKbuild(["verify"], in: workspace, Self.environment)
        #expect(check.succeeded, "\(check.stdout)\(check.stderr)")

        let shard = try await runKbuild(["release", "--publish", "--shard", "1/2"], in: workspace, Self.environment)
        #expect(shard.status == 64 && shard.stderr.contains("--publish given with --shard"), "\(shard.stderr)")
        let stray = try await runKbuild(
            ["release", "--upload", "http://127.0.0.1:1/x"], in: workspace, Self.environment)
        #expect(stray.status == 64 && stray.stderr.contains("add --publish"), "\(stray.stderr)")
    }

    /// One release of the example workspace for the tests that only publish it.
    static let release = Task { () throws -> String in
        let directory = try TemporaryDirectory("kbuild-publish-reporting")
        _ = try await Repository.exampleWorkspace(in: directory.path, tag: "v1.4.0")
        let result = try await runKbuild(["release"], in: directory.path, environment)
        guard result.succeeded else { throw NginxError("release failed: \(result.stderr)") }
        return directory.path
    }

    func publish(_ workspace: String, _ arguments: [String], _ extra: [String: String?] = [:]) async throws
        -> CommandResult
    {
        try await runKbuild(["publish"] + arguments, in: workspace, Self.environment.merging(extra) { $1 })
    }

    static func events(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
    }

    @Test func publishEventsValidateAndTheStepSummaryListsWhatWasSentByDigest() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let server = try await NginxServer.start()
        defer { server.stop() }
        let scratch = try TemporaryDirectory("kbuild-publish-summary")
        defer { scratch.remove() }
        let summary = scratch.appending("summary.md")
        let target = registry.host + "/k8s"
        let prefix = server.url + "/releases/v1.4.0"
        let arguments = ["--registry", target, "--tls-verify=false", "--upload", prefix, "--log-format", "json"]
        let github: [String: String?] = ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary]

        let dry = try await publish(workspace, arguments + ["--dry-run"])
        try #require(dry.succeeded, "\(dry.stderr)")
        let first = try await publish(workspace, arguments, github)
        try #require(first.succeeded, "\(first.stderr)")
        let again = try await publish(workspace, arguments)
        try #require(again.succeeded, "\(again.stderr)")
        registry.kill()  // a zombie until the deferred stop reaps it
        let failed = try await publish(workspace, arguments, github)
        #expect(failed.status == 1 && failed.stderr.hasPrefix("error: "), "\(failed.stderr)")

        _ = try await validatedEvents(dry.stdout + first.stdout + again.stdout + failed.stdout, in: scratch)

        let planned = try Self.events(dry.stdout).filter { $0["event"] as? String == "planned" }
        #expect(
            planned.contains { ($0["message"] as? String)?.hasPrefix("index    \(target)/kube-proxy:v1.4.0 ") == true })
        let events = try Self.events(first.stdout)
        #expect(events.allSatisfy { $0["command"] as? String == "publish" })
        let kinds = Set(events.compactMap { $0["event"] as? String })
        for kind in ["blob-pushed", "blob-skipped", "image-pushed", "tag-set", "file-uploaded", "result"] {
            #expect(kinds.contains(kind), "\(kind) in \(kinds.sorted())")
        }
        // The index the tag names is the one the registry serves (read back by skopeo before it was killed is not
        // possible now; the registry's storage keeps it: the dry run's digest, the tag-set's and the summary's agree).
        let indexLine = try #require(
            planned.compactMap { $0["message"] as? String }.first { $0.contains("/kube-proxy:") })
        let indexDigest = String(try #require(indexLine.split(separator: " ").last))
        let tag = try #require(events.first { $0["reference"] as? String == "\(target)/kube-proxy:v1.4.0" })
        #expect(tag["digest"] as? String == indexDigest && tag["changed"] as? Bool == true, "\(tag)")
        #expect(
            events.contains {
                $0["event"] as? String == "image-pushed" && $0["digest"] as? String == indexDigest
                    && $0["kind"] as? String == "index"
            })
        // Each uploaded file's sha256 is the bytes the server stored, as sha256sum computes it.
        let uploaded = events.filter { $0["event"] as? String == "file-uploaded" }
        let names = try FileManager.default.contentsOfDirectory(atPath: workspace + "/_output/release-tars")
        #expect(uploaded.count == names.count, "\(uploaded.count) of \(names.count)")
        for event in uploaded {
            let name = try #require(event["name"] as? String)
            let sum = try await Tool.check("sha256sum", [server.root + "/releases/v1.4.0/" + name])
            #expect(sum.hasPrefix(try #require(event["sha256"] as? String) + " "), "\(name)")
            #expect(event["uploaded"] as? Bool == true)
        }
        // A repeat sends nothing and says so per blob, tag and file.
        let repeated = try Self.events(again.stdout)
        #expect(
            !repeated.contains { $0["event"] as? String == "blob-pushed" || $0["event"] as? String == "image-pushed" })
        #expect(repeated.filter { $0["event"] as? String == "tag-set" }.allSatisfy { $0["changed"] as? Bool == false })
        #expect(
            repeated.filter { $0["event"] as? String == "file-uploaded" }.allSatisfy {
                $0["uploaded"] as? Bool == false
            })
        // Verification is an event too: the first publish verified (or found this release verified by the
        // suite's other publish), the repeat read nothing again and says so.
        let verified = try [first.stdout, again.stdout].map { output in
            try Self.events(output).filter { $0["event"] as? String == "verified" }
        }
        #expect(verified.map(\.count) == [1, 1], "\(verified)")
        let directory = try #require(verified.first?.first?["directory"] as? String)
        #expect(directory.hasSuffix("_output"), "\(directory)")
        if verified[0].first?["earlier"] as? Bool == false {
            #expect((verified[0].first?["checks"] as? Int ?? 0) > 0, "\(verified[0])")
        }
        #expect(verified[1].first?["earlier"] as? Bool == true, "\(verified[1])")
        #expect(
            (verified[1].first?["message"] as? String)?.hasPrefix("verified earlier: ") == true, "\(verified[1])")
        let error = try #require(try Self.events(failed.stdout).first { $0["event"] as? String == "error" })
        #expect((error["message"] as? String)?.contains(registry.host) == true, "\(error)")

        // The step summary: every image by name and digest, every file by URL and sha256, then the failure.
        let table = try String(contentsOfFile: summary, encoding: .utf8)
        #expect(table.contains("### kbuild publish: published"), "\(table)")
        #expect(table.contains("| `\(target)/kube-proxy:v1.4.0` | index | `\(indexDigest)` |"), "\(table)")
        #expect(table.contains("| `\(target)/kube-proxy` | linux/arm64"), "\(table)")
        let sums = try String(
            contentsOfFile: workspace + "/_output/release-tars/SHA256SUMS", encoding: .utf8)
        for line in sums.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(table.contains("| \(prefix)/\(parts[1]) | `\(parts[0])` |"), "\(line)")
        }
        #expect(table.contains("### kbuild publish failed"), "\(table)")
        #expect(!(first.stdout + first.stderr).contains("::error"))
        #expect(
            failed.stderr.contains("::error::"), "under GitHub Actions the error is an annotation: \(failed.stderr)")
    }

    @Test func bytesPushedAndUploadedShowOnTheDisplay() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let server = try await NginxServer.start()
        defer { server.stop() }
        // --progress tty in a pipe: the live display's lines, redrawn with ANSI, as a terminal would get them.
        let result = try await publish(
            workspace,
            [
                "--registry", registry.host + "/k8s", "--tls-verify=false", "--upload", server.url + "/r",
                "--progress", "tty",
            ], ["NO_COLOR": "1"])
        try #require(result.succeeded, "\(result.stderr)")
        let screen = result.stdout.replacingOccurrences(of: "\u{1b}[J", with: "\n")
        let pushing = try #require(
            screen.firstMatch(of: /k8s\/kube-proxy: pushing (\d+\.\d)\/(\d+\.\d) MB, \d+s/), "\(result.stdout)")
        let total = try #require(Double(pushing.2))
        // The total is the image's blobs, as the release holds them.
        let tarballs = try ["amd64", "arm64"].map {
            try FileManager.default.attributesOfItem(
                atPath: workspace + "/_output/release-images/\($0)/kube-proxy.tar")[.size] as? Int ?? 0
        }
        #expect(total > 0 && total * 1_000_000 <= Double(tarballs.reduce(0, +) + 50_000), "\(total) of \(tarballs)")
        #expect(screen.contains(#/\/r: uploading \d+\.\d\/\d+\.\d MB, \d+s, for /#), "\(result.stdout)")
        #expect(!result.stdout.contains("\u{1b}[36m"), "NO_COLOR: no colour")
        #expect(result.stdout.hasSuffix(" already there\n"), "the display is gone at the end: \(result.stdout)")
    }
}
