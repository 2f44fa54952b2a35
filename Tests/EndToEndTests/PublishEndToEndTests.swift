import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

/// `kbuild publish` against a real registry (Debian's docker-registry, Distribution 2.8), read back by
/// tools no one here wrote: skopeo (the index and its platforms, `copy --all`) and podman (`pull --arch`).
@Suite(.serialized) struct PublishEndToEndTests {
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64 linux/arm64", "SOURCE_DATE_EPOCH": "1700000000",
        "REGISTRY_AUTH_FILE": "/nonexistent/auth.json", "DOCKER_CONFIG": "/nonexistent",
        "XDG_CONFIG_HOME": "/nonexistent",
        // Records of releases verified outside a workspace: never the user's own cache.
        "XDG_CACHE_HOME": NSTemporaryDirectory() + "kbuild-publish-e2e-cache-\(getpid())",
    ]

    /// One release of the example workspace (tag v1.4.0+build.7) shared by the suite: publishing never
    /// writes to it.
    static let release = Task { () throws -> String in
        let directory = try TemporaryDirectory("kbuild-publish-e2e")
        _ = try await Repository.exampleWorkspace(in: directory.path, tag: "v1.4.0+build.7")
        let result = try await runKbuild(["release"], in: directory.path, environment)
        guard result.succeeded else { throw NginxError("release failed: \(result.stderr)") }
        return directory.path
    }

    /// A copy of the shared release's workspace, at `ws` in a new temporary directory: for a test that writes.
    static func releaseCopy(_ name: String) async throws -> TemporaryDirectory {
        let shared = try await release.value
        let copy = try TemporaryDirectory(name)
        try FileManager.default.copyItem(atPath: shared, toPath: copy.appending("ws"))
        return copy
    }

    func publish(_ workspace: String, _ arguments: [String], _ extra: [String: String?] = [:]) async throws
        -> CommandResult
    {
        var env = Self.environment
        env.merge(extra) { $1 }
        return try await runKbuild(["publish"] + arguments, in: workspace, env)
    }

    @discardableResult func skopeo(_ arguments: [String]) async throws -> String {
        try await Tool.check("skopeo", arguments)
    }

    @Test func publishesAnIndexOverEveryArchitectureThatSkopeoAndPodmanRead() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let target = registry.host + "/k8s"

        let dry = try await publish(workspace, ["--registry", target, "--tls-verify=false", "--dry-run"])
        try #require(dry.succeeded, "\(dry.stderr)")
        #expect(try registry.requests().isEmpty, "a dry run contacts no registry")
        let indexLine = try #require(dry.stdout.split(separator: "\n").first { $0.contains("k8s/kube-proxy:") })
        let indexDigest = String(try #require(indexLine.split(separator: " ").last))

        let first = try await publish(workspace, ["--registry", target, "--tls-verify=false"])
        try #require(first.succeeded, "\(first.stderr)\n\(first.stdout)")
        #expect(first.stdout.contains("tagged   \(target)/kube-proxy:v1.4.0_build.7 \(indexDigest)"))
        // Kubernetes' per-arch names too (the tarballs' RepoTags, md5 tags), their blobs mounted, not resent.
        #expect(
            first.stdout.contains("12 blobs pushed (") && first.stdout.contains(", 12 mounted, 0 present"),
            "\(first.stdout)")
        #expect(try registry.requests().filter { $0.hasPrefix("POST ") && $0.contains("mount=") }.count == 12)
        // Every request of a first publish, from the registry's access log: the 9 tag HEADs; per blob (12)
        // HEAD, POST and PUT; the 9 manifests by digest; per per-arch name (6) its 2 blobs mounted and its
        // manifest; the 9 tags. No HEAD before a mount, a manifest or a tag: the tags-first HEADs knew.
        let requests = try registry.requests()
        let methods = Dictionary(grouping: requests) { String($0.prefix { $0 != " " }) }.mapValues(\.count)
        #expect(methods == ["HEAD": 9 + 12, "POST": 12 + 12, "PUT": 12 + 9 + 6 + 9], "\(requests)")
        let md5 = try String(
            contentsOfFile: workspace + "/_output/release-images/arm64/kube-proxy.docker_tag", encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let archRaw = try await skopeo([
            "inspect", "--raw", "--tls-verify=false", "docker://\(target)/kube-proxy-arm64:\(md5)",
        ])
        #expect(
            dry.stdout.contains(
                "tag      \(target)/kube-proxy-arm64:\(md5) sha256:\(Digest.of(Data(archRaw.utf8), .sha256).hex)"))

        // The index as the registry serves it: exactly the bytes whose digest the dry run printed.
        let reference = "docker://\(target)/kube-proxy:v1.4.0_build.7"
        let raw = try await skopeo(["inspect", "--raw", "--tls-verify=false", reference])
        #expect("sha256:" + Digest.of(Data(raw.utf8), .sha256).hex == indexDigest)
        let index = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any]
        #expect(index?["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
        let platforms = (index?["manifests"] as? [[String: Any]] ?? []).compactMap {
            ($0["platform"] as? [String: Any])?["architecture"] as? String
        }
        #expect(platforms == ["amd64", "arm64"])

        // The provenance recorded these digests before the push; kbuild verify --registry finds them there.
        let provenance = try String(
            contentsOfFile: workspace + "/_output/release-tars/kubernetes.intoto.jsonl", encoding: .utf8)
        #expect(
            provenance.contains(
                #"{"digest":{"sha256":"\#(indexDigest.dropFirst(7))"},"name":"image:kube-proxy:v1.4.0_build.7"}"#))
        let checked = try await runKbuild(
            ["verify", "--registry", target, "--tls-verify=false"], in: workspace, Self.environment)
        #expect(checked.succeeded, "\(checked.stdout)\(checked.stderr)")
        #expect(
            checked.stdout.contains(
                "ok   registry   \(target)/kube-proxy:v1.4.0_build.7: \(indexDigest) and its 2 manifests"))
        let elsewhere = try await runKbuild(
            ["verify", "--registry", registry.host + "/empty", "--tls-verify=false"], in: workspace, Self.environment)
        #expect(elsewhere.status == 1)
        #expect(
            elsewhere.stdout.contains(
                "FAIL registry   \(registry.host)/empty/kube-proxy:v1.4.0_build.7: resolves to nothing"))

        let copy = try TemporaryDirectory("kbuild-publish-copy")
        defer { copy.remove() }
        try await skopeo(["copy", "--all", "--src-tls-verify=false", reference, "oci:\(copy.path)/layout:x"])

        // podman pulls the arm64 image; its binary is the release's, md5 and all.
        let podman = ["--root", copy.path + "/root", "--runroot", copy.path + "/run", "--storage-driver", "vfs"]
        let name = "\(target)/kube-proxy:v1.4.0_build.7"
        try await Tool.check("podman", podman + ["pull", "--tls-verify=false", "--arch", "arm64", name])
        let mounted = try await Tool.check("podman", podman + ["image", "mount", name])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let pulled = try Digest.file(mounted + "/usr/local/bin/kube-proxy", .md5).hex
        try await Tool.check("podman", podman + ["image", "unmount", name])
        #expect(pulled == (try Digest.file(workspace + "/_output/local/bin/linux/arm64/kube-proxy", .md5).hex))
        let tag = try String(
            contentsOfFile: workspace + "/_output/release-images/arm64/kube-proxy.docker_tag", encoding: .utf8)
        #expect(tag == pulled + "\n")

        // Publishing again sends nothing: every blob, manifest and tag is already there.
        let before = try registry.requests().count
        let second = try await publish(workspace, ["--registry", target, "--tls-verify=false"])
        try #require(second.succeeded, "\(second.stderr)")
        let writes = try registry.requests().dropFirst(before).filter {
            !$0.hasPrefix("HEAD ") && !$0.hasPrefix("GET ")
        }
        #expect(writes.isEmpty, "re-publishing wrote: \(writes)")
        #expect(
            second.stdout.contains(
                "0 blobs pushed (0 bytes), 0 mounted, 0 present; 0 manifests pushed, 0 present; 0 tags set, 9 unchanged"
            ), "\(second.stdout)")
    }

    /// A repeat publish of an unchanged release sends one HEAD per tag and verifies nothing; a write to any
    /// file of the release (even the same bytes, `touch`) verifies it again, and a changed byte is refused.
    @Test func aSecondPublishSendsOnlyTagHEADsAndVerifiesAgainOnlyWhenAFileChanged() async throws {
        let copy = try await Self.releaseCopy("kbuild-publish-again")
        defer { copy.remove() }
        let workspace = copy.appending("ws")
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let arguments = ["--registry", registry.host, "--tls-verify=false"]

        let first = try await publish(workspace, arguments)
        try #require(first.succeeded, "\(first.stderr)")
        #expect(first.stdout.contains("verified: "), "\(first.stdout)")
        #expect(try !FileManager.default.contentsOfDirectory(atPath: workspace + "/_output/cache/verified").isEmpty)

        var before = try registry.requests().count
        let second = try await publish(workspace, arguments)
        try #require(second.succeeded, "\(second.stderr)")
        #expect(second.stdout.contains("verified earlier: "), "\(second.stdout)")
        #expect(!second.stdout.contains("verified: "), "\(second.stdout)")
        let again = try registry.requests().dropFirst(before)
        // 3 binaries: the index's tag and the 2 per-arch names' tags each.
        #expect(
            again.count == 9 && again.allSatisfy { $0.hasPrefix("HEAD ") && $0.contains("/manifests/") }, "\(again)")

        // Same bytes, new mtime and ctime: verified again, and published (nothing to send).
        let tarball = workspace + "/_output/release-tars/kubernetes-manifests.tar.gz"
        try await Tool.check("touch", [tarball])
        let touched = try await publish(workspace, arguments)
        try #require(touched.succeeded, "\(touched.stderr)")
        #expect(touched.stdout.contains("verified: ") && !touched.stdout.contains("verified earlier"))
        let recorded = try await publish(workspace, arguments)
        #expect(recorded.stdout.contains("verified earlier: "), "\(recorded.stdout)")

        // One byte changed in place, size and mtime kept: only the ctime tells, and verify refuses it.
        let mtime = try #require(
            try FileManager.default.attributesOfItem(atPath: tarball)[.modificationDate] as? Date)
        let handle = try #require(FileHandle(forUpdatingAtPath: tarball))
        try handle.seek(toOffset: 100)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data([byte ^ 0xff]))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: tarball)
        before = try registry.requests().count
        let changed = try await publish(workspace, arguments)
        #expect(changed.status == 1)
        #expect(changed.stderr.contains("fails kbuild verify"), "\(changed.stderr)")
        let writes = try registry.requests().dropFirst(before).filter { !$0.hasPrefix("HEAD ") }
        #expect(writes.isEmpty, "a release failing verification is not published: \(writes)")
    }

    /// `publish.tags: ["{{version}}", latest]`: both tags name the one index, set last; a repeat sends one
    /// HEAD per tag and nothing else; `verify --registry` checks each tag.
    @Test func configuredTagsAllNameTheIndex() async throws {
        let copy = try await Self.releaseCopy("kbuild-publish-tags")
        defer { copy.remove() }
        let workspace = copy.appending("ws")
        let config = workspace + "/release/kbuild.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try writeFile(config, text + "\npublish:\n  tags: [\"{{version}}\", latest]\n")
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let target = registry.host + "/k8s"
        let arguments = ["--registry", target, "--tls-verify=false"]

        let dry = try await publish(workspace, arguments + ["--dry-run"])
        try #require(dry.succeeded, "\(dry.stderr)")
        let indexLine = try #require(
            dry.stdout.split(separator: "\n").first { $0.contains("index    \(target)/kube-proxy:") })
        let indexDigest = String(try #require(indexLine.split(separator: " ").last))
        #expect(indexLine.contains("\(target)/kube-proxy:v1.4.0_build.7 "), "\(dry.stdout)")
        #expect(dry.stdout.contains("tag      \(target)/kube-proxy:latest \(indexDigest)"), "\(dry.stdout)")

        let summary = copy.appending("summary.md")
        let first = try await publish(
            workspace, arguments, ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary])
        try #require(first.succeeded, "\(first.stderr)\n\(first.stdout)")
        // 3 binaries: 2 index tags and 2 per-arch names each.
        #expect(first.stdout.contains("12 tags set, 0 unchanged"), "\(first.stdout)")
        let table = try String(contentsOfFile: summary, encoding: .utf8)
        for tag in ["v1.4.0_build.7", "latest"] {
            #expect(table.contains("| `\(target)/kube-proxy:\(tag)` | index | `\(indexDigest)` |"), "\(table)")
        }
        for tag in ["v1.4.0_build.7", "latest"] {
            #expect(first.stdout.contains("tagged   \(target)/kube-proxy:\(tag) \(indexDigest)"), "\(first.stdout)")
            let raw = try await skopeo([
                "inspect", "--raw", "--tls-verify=false", "docker://\(target)/kube-proxy:\(tag)",
            ])
            #expect("sha256:" + Digest.of(Data(raw.utf8), .sha256).hex == indexDigest, "\(tag)")
        }
        // Tags last: no tag PUT before the last manifest PUT by digest.
        let puts = try registry.requests().filter { $0.hasPrefix("PUT ") && $0.contains("/manifests/") }
        let lastByDigest = try #require(puts.lastIndex { $0.contains("/manifests/sha256:") })
        #expect(puts.prefix(lastByDigest).allSatisfy { $0.contains("/manifests/sha256:") }, "\(puts)")

        let before = try registry.requests().count
        let second = try await publish(workspace, arguments)
        try #require(second.succeeded, "\(second.stderr)")
        let again = try registry.requests().dropFirst(before)
        #expect(
            again.count == 12 && again.allSatisfy { $0.hasPrefix("HEAD ") && $0.contains("/manifests/") }, "\(again)")
        #expect(second.stdout.contains("0 tags set, 12 unchanged"), "\(second.stdout)")

        let checked = try await runKbuild(
            ["verify", "--registry", target, "--tls-verify=false"], in: workspace, Self.environment)
        #expect(checked.succeeded, "\(checked.stdout)\(checked.stderr)")
        for tag in ["v1.4.0_build.7", "latest"] {
            #expect(
                checked.stdout.contains(
                    "ok   registry   \(target)/kube-proxy:\(tag): \(indexDigest) and its 2 manifests"),
                "\(checked.stdout)")
        }

        // --tag overrides the config: only that tag is looked up and set.
        let given = try await publish(workspace, arguments + ["--tag", "stable", "--dry-run"])
        try #require(given.succeeded, "\(given.stderr)")
        #expect(given.stdout.contains("index    \(target)/kube-proxy:stable \(indexDigest)"), "\(given.stdout)")
        #expect(!given.stdout.contains(":latest"), "\(given.stdout)")
        var env = Self.environment
        env["KUBE_BUILD_PLATFORMS"] = "linux/amd64 linux/arm64"
        let released = try await runKbuild(
            ["release", "--publish"] + arguments + ["--tag", "stable", "--tag", "edge", "--dry-run"], in: workspace, env
        )
        try #require(released.succeeded, "\(released.stderr)")
        // A new release of the workspace, its tree changed (the config): its digests are its own.
        #expect(released.stdout.contains("index    \(target)/kube-proxy:stable sha256:"), "\(released.stdout)")
        #expect(released.stdout.contains("tag      \(target)/kube-proxy:edge sha256:"), "\(released.stdout)")
        let bad = try await publish(workspace, arguments + ["--tag", "v1+meta"])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("--tag \"v1+meta\" is not an OCI tag"), "\(bad.stderr)")
    }

    @Test func basicAuthComesFromTheAuthFileAndAWrongPasswordIsOneLine() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start(user: "releaser", password: "s3cret-pass")
        defer { registry.stop() }
        let files = try TemporaryDirectory("kbuild-publish-auth")
        defer { files.remove() }
        func authFile(_ password: String) throws -> String {
            let auth = Data("releaser:\(password)".utf8).base64EncodedString()
            let path = files.appending("auth-\(password).json")
            try writeFile(path, #"{"auths": {"http://\#(registry.host)": {"auth": "\#(auth)"}}}"#)
            return path
        }
        let arguments = ["--registry", registry.host, "--tls-verify=false"]

        let none = try await publish(workspace, arguments)
        #expect(none.status == 1)
        #expect(none.stderr.split(separator: "\n").count == 1, "\(none.stderr)")
        #expect(none.stderr.contains("no auth file has an entry for \(registry.host)"), "\(none.stderr)")

        let wrong = try await publish(workspace, arguments, ["REGISTRY_AUTH_FILE": try authFile("wrong-pass")])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("HTTP 401"), "\(wrong.stderr)")
        for secret in ["wrong-pass", Data("releaser:wrong-pass".utf8).base64EncodedString()] {
            #expect(!wrong.stderr.contains(secret) && !wrong.stdout.contains(secret))
        }

        let right = try await publish(workspace, arguments, ["REGISTRY_AUTH_FILE": try authFile("s3cret-pass")])
        try #require(right.succeeded, "\(right.stderr)")
        #expect(!right.stdout.contains("s3cret-pass"))
        let raw = try await skopeo([
            "inspect", "--raw", "--tls-verify=false", "--creds", "releaser:s3cret-pass",
            "docker://\(registry.host)/kube-apiserver:v1.4.0_build.7",
        ])
        #expect(raw.contains("application/vnd.oci.image.index.v1+json"))
    }

    /// The Bearer token flow: the registry's challenge names a realm, kbuild asks it for a token with the
    /// auth file's user and password (for its repositories, and for the one it mounts from).
    @Test func theBearerTokenFlowPushesAndMounts() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start(user: "releaser", password: "tok-pass", bearer: true)
        defer { registry.stop() }
        let files = try TemporaryDirectory("kbuild-publish-bearer")
        defer { files.remove() }
        func authFile(_ password: String) throws -> String {
            let auth = Data("releaser:\(password)".utf8).base64EncodedString()
            let path = files.appending("auth-\(password).json")
            try writeFile(path, #"{"auths": {"\#(registry.host)": {"auth": "\#(auth)"}}}"#)
            return path
        }
        let arguments = ["--registry", registry.host, "--tls-verify=false"]
        let wrong = try await publish(workspace, arguments, ["REGISTRY_AUTH_FILE": try authFile("wrong")])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("/token: HTTP 401"), "\(wrong.stderr)")

        let right = try await publish(workspace, arguments, ["REGISTRY_AUTH_FILE": try authFile("tok-pass")])
        try #require(right.succeeded, "\(right.stderr)")
        #expect(right.stdout.contains(", 12 mounted, "), "\(right.stdout)")
        let raw = try await skopeo([
            "inspect", "--raw", "--tls-verify=false", "--creds", "releaser:tok-pass",
            "docker://\(registry.host)/kube-proxy:v1.4.0_build.7",
        ])
        #expect(raw.contains("application/vnd.oci.image.index.v1+json"))
    }

    @Test func aPublishKilledMidwayIsCompletedByTheNextRun() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let env = ProcessInfo.processInfo.environment
        let pid = try spawn(
            Repository.kbuildBinary, ["publish", "--registry", registry.host, "--tls-verify=false", "--jobs", "1"],
            in: workspace, environment: env.merging(["REGISTRY_AUTH_FILE": "/nonexistent/auth.json"]) { $1 })
        // Killed as soon as the registry has stored its first blob.
        var stored = false
        for _ in 0..<3000 where !stored {
            stored = try registry.requests().contains { $0.hasPrefix("PUT ") && $0.contains("/blobs/uploads/") }
            if !stored { try await Task.sleep(nanoseconds: 5_000_000) }
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try #require(stored, "the publish never stored a blob")

        let rerun = try await publish(workspace, ["--registry", registry.host, "--tls-verify=false"])
        try #require(rerun.succeeded, "\(rerun.stderr)")
        // The killed run's blobs are there and reused: "…, N present;" with N > 0.
        let present = try #require(rerun.stdout.firstMatch(of: /bytes\), \d+ mounted, (\d+) present;/)?.1)
        #expect(Int(present) ?? 0 > 0, "\(rerun.stdout)")
        for binary in ["kube-apiserver", "kube-controller-manager", "kube-proxy"] {
            let copy = try TemporaryDirectory("kbuild-publish-resume")
            defer { copy.remove() }
            try await skopeo([
                "copy", "--all", "--src-tls-verify=false", "docker://\(registry.host)/\(binary):v1.4.0_build.7",
                "oci:\(copy.path)/layout:x",
            ])
        }
    }

    @Test func aReleaseThatFailsVerificationIsNotPublished() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        // A release copied from another job, one of its tarballs damaged on the way.
        let copy = try TemporaryDirectory("kbuild-publish-copied")
        defer { copy.remove() }
        try FileManager.default.copyItem(atPath: workspace + "/_output", toPath: copy.appending("_output"))
        let damaged = copy.appending("_output/release-tars/kubernetes-manifests.tar.gz")
        let handle = try #require(FileHandle(forWritingAtPath: damaged))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("x".utf8))
        try handle.close()

        let result = try await publish(
            copy.path, [copy.appending("_output"), "--registry", registry.host, "--tls-verify=false"])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("fails kbuild verify"), "\(result.stderr)")
        // Blobs may go up while verify runs (content-addressed, under no name); no manifest, index or tag.
        let named = try registry.requests().filter { $0.contains("/manifests/") && !$0.hasPrefix("HEAD ") }
        #expect(named.isEmpty, "\(named)")

        // The same copy, undamaged, publishes from its own directory (no workspace there).
        try FileManager.default.removeItem(atPath: damaged)
        try FileManager.default.copyItem(
            atPath: workspace + "/_output/release-tars/kubernetes-manifests.tar.gz", toPath: damaged)
        let good = try await publish(
            copy.path, [copy.appending("_output"), "--registry", registry.host, "--tls-verify=false"])
        try #require(good.succeeded, "\(good.stderr)")
        #expect(good.stdout.contains("9 tags set"), "\(good.stdout)")
    }

    @Test func aRegistryWithAnUntrustedCertificateIsRefused() async throws {
        let workspace = try await Self.release.value
        let registry = try await RegistryServer.start(tls: true)
        defer { registry.stop() }
        let result = try await publish(workspace, ["--registry", registry.host])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("certificate"), "\(result.stderr)")
    }

    @Test func releaseFilesGoToAWebDAVServerWithBasicAuthAndARepeatUploadsNothing() async throws {
        let workspace = try await Self.release.value
        let server = try await NginxServer.start(user: "uploader", password: "up-secret")
        defer { server.stop() }
        let files = try TemporaryDirectory("kbuild-publish-netrc")
        defer { files.remove() }
        let netrc = files.appending("netrc")
        try writeFile(netrc, "machine 127.0.0.1 login uploader password up-secret\n")
        let prefix = server.url + "/releases/v1.4.0"
        let tars = workspace + "/_output/release-tars"

        let refused = try await publish(workspace, ["--upload", prefix], ["NETRC": files.appending("none")])
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("HTTP 401"), "\(refused.stderr)")

        let first = try await publish(workspace, ["--upload", prefix], ["NETRC": netrc])
        try #require(first.succeeded, "\(first.stderr)")
        #expect(!first.stdout.contains("up-secret"))
        let names = try FileManager.default.contentsOfDirectory(atPath: tars).sorted()
        let uploaded = server.root + "/releases/v1.4.0"
        #expect(try FileManager.default.contentsOfDirectory(atPath: uploaded).sorted() == names)
        for name in names {
            #expect(
                FileManager.default.contentsEqual(atPath: tars + "/" + name, andPath: uploaded + "/" + name), "\(name)")
        }
        // SHA256SUMS went last: a reader who sees it finds every file it names.
        let order = first.stdout.split(separator: "\n").filter { $0.hasPrefix("uploaded http") }
        #expect(order.last?.hasSuffix("/SHA256SUMS") == true)
        try await Tool.check("sha256sum", ["-c", "SHA256SUMS"], in: uploaded)

        // A second publish uploads nothing: no file on the server is replaced (same inodes).
        func inodes() throws -> [String: Int] {
            Dictionary(
                uniqueKeysWithValues: try names.map {
                    (
                        $0,
                        try FileManager.default.attributesOfItem(atPath: uploaded + "/" + $0)[.systemFileNumber] as? Int
                            ?? -1
                    )
                })
        }
        let before = try inodes()
        let second = try await publish(workspace, ["--upload", prefix], ["NETRC": netrc])
        try #require(second.succeeded, "\(second.stderr)")
        #expect(
            second.stdout.contains("uploaded 0 files to \(prefix), \(names.count) already there"), "\(second.stdout)")
        #expect(try inodes() == before)
    }
}
