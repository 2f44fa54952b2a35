import Foundation
import KbuildCore
import KbuildDigest
import TestSupport
import Testing

/// `kbuild publish` when the registry or the upload target misbehaves: faults injected by
/// Tests/Fixtures/fault-proxy.py in front of a real docker-registry (Distribution 2.8) and a real nginx
/// WebDAV server, read back with skopeo, sha256sum and the servers' own access logs. Every failure is
/// exit 1 with one `error:` line, tags nothing and leaves the local release as it was.
@Suite(.serialized) struct PublishFaultTests {
    static let environment: [String: String?] = [
        "REGISTRY_AUTH_FILE": "/nonexistent/auth.json", "DOCKER_CONFIG": "/nonexistent",
        "XDG_CONFIG_HOME": "/nonexistent", "NETRC": "/nonexistent/netrc", "KBUILD_UPLOAD_TOKEN": nil,
    ]

    /// The example release (linux/amd64, v1.0.0: three images of two blobs each), shared: publishing
    /// only reads it.
    func release() async throws -> String { try await GoodRelease.workspace() }

    func publish(_ workspace: String, _ arguments: [String], _ extra: [String: String?] = [:]) async throws
        -> CommandResult
    {
        try await GoodRelease.kbuild(["publish"] + arguments, in: workspace, Self.environment.merging(extra) { $1 })
    }

    /// The sha256 of every file under `_output` (symlinks by target), to show a failure left it as it was.
    static func fingerprint(_ workspace: String) throws -> [String: String] {
        let root = workspace + "/_output"
        var sums: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = root + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG: sums[relative] = try Digest.file(path, .sha256).hex
            case S_IFLNK: sums[relative] = "-> " + (try FileManager.default.destinationOfSymbolicLink(atPath: path))
            default: sums[relative] = "dir"
            }
        }
        return sums
    }

    /// Exit 1, one line on stderr and it is the only `error:` line; returns it.
    @discardableResult static func oneError(_ result: CommandResult, _ context: String = "") -> String {
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(result.status == 1, "\(context): \(result.stderr)\(result.stdout)")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: "), "\(context): \(result.stderr)")
        #expect(!result.stdout.contains("error:"), "\(context): \(result.stdout)")
        return lines.first ?? ""
    }

    /// Whether `reference` resolves in the registry (skopeo, no one's code here).
    static func resolves(_ reference: String) async throws -> String? {
        let result = try await Tool.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://" + reference])
        return result.succeeded ? "sha256:" + Digest.of(Data(result.stdout.utf8), .sha256).hex : nil
    }

    /// The released workspace and a fresh registry behind a fault proxy applying `rules`.
    func rig(_ rules: [FaultRule], keepAlive: Bool = false) async throws -> (String, RegistryServer, FaultProxy) {
        let workspace = try await release()
        let registry = try await RegistryServer.start()
        do {
            let proxy = try await FaultProxy(
                upstream: registry.port, rules: rules, scratch: registry.directory, keepAlive: keepAlive)
            return (workspace, registry, proxy)
        } catch {
            registry.stop()
            throw error
        }
    }

    static let binaries = ["kube-apiserver", "kube-controller-manager", "kube-proxy"]

    /// The binaries whose version tag resolves under `<registry>/<path>`.
    static func tagged(_ registry: RegistryServer, _ path: String) async throws -> [String] {
        var tagged: [String] = []
        for binary in binaries where try await resolves("\(registry.host)/\(path)/\(binary):v1.0.0") != nil {
            tagged.append(binary)
        }
        return tagged
    }
    static let blobPUT = "/blobs/uploads/.*digest="

    @Test func fiveHundredsAreRetriedAndNoBlobIsStoredTwice() async throws {
        let (workspace, registry, proxy) = try await rig([
            .status(503, "PUT", Self.blobPUT, count: 2),
            .status(500, "PUT", "/manifests/sha256:", count: 1),
        ])
        defer {
            proxy.stop()
            registry.stop()
        }

        let result = try await publish(workspace, ["--registry", proxy.host + "/retry", "--tls-verify=false"])
        try #require(result.succeeded, "\(result.stderr)")
        #expect(result.stdout.contains("6 blobs pushed ("), "\(result.stdout)")
        let requests = try proxy.requests()
        // The 503s were retried: a blob PUT refused, the same blob then stored; a fresh upload each time.
        let puts = requests.filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }
        #expect(puts.filter { $0.status == 503 }.count == 2)
        #expect(puts.filter { $0.status == 201 }.count == 6, "each blob stored once: \(puts)")
        let stored = puts.filter { $0.status == 201 }.compactMap { $0.path.split(separator: "digest=").last }
        #expect(Set(stored).count == 6, "no blob stored twice")
        #expect(requests.filter { $0.method == "POST" && !$0.path.contains("mount=") }.count == 6 + 2)
        // The manifest PUT refused with a 500 went again, by itself.
        let manifests = requests.filter { $0.method == "PUT" && $0.path.contains("/manifests/sha256:") }
        #expect(manifests.filter { $0.status == 500 }.count == 1)
        #expect(manifests.filter { $0.status == 201 }.count == 9)
        #expect(try await Self.tagged(registry, "retry") == Self.binaries)
    }

    @Test func aResetMidUploadStartsAfreshOrFindsTheBlobStored() async throws {
        // The first blob PUT is cut after half its bytes; the next (the same blob, afresh) is stored but
        // its answer lost.
        let (workspace, registry, proxy) = try await rig([
            .reset("PUT", Self.blobPUT, count: 1), .reset("PUT", Self.blobPUT, count: 1, afterAnswer: true),
        ])
        defer {
            proxy.stop()
            registry.stop()
        }

        let result = try await publish(
            workspace, ["--registry", proxy.host + "/reset", "--tls-verify=false", "--jobs", "1"])
        try #require(result.succeeded, "\(result.stderr)")
        let puts = try proxy.requests().filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }
        let digest = { (request: ProxiedRequest) in String(request.path.split(separator: "digest=").last ?? "") }
        let cut = digest(try #require(puts.first { $0.action == "reset" }))
        // The cut one went up again, afresh; stored that time, it was found by HEAD and not sent a third time.
        #expect(puts.filter { digest($0) == cut }.map(\.action) == ["reset", "reset-answered"], "\(puts)")
        #expect(puts.count == 7, "\(puts)")
        #expect(Set(puts.map(digest)).count == 6)
        // skopeo checks every blob's digest as it copies.
        let copy = try TemporaryDirectory("kbuild-fault-copy")
        defer { copy.remove() }
        for binary in Self.binaries {
            try await Tool.check(
                "skopeo",
                [
                    "copy", "--all", "--src-tls-verify=false", "docker://\(registry.host)/reset/\(binary):v1.0.0",
                    "oci:\(copy.path)/\(binary):x",
                ])
        }
    }

    /// A reset on a connection the client keeps and reuses (a HEAD, then a blob PUT cut midway): the
    /// transport must notice it as a lost connection and go on, not hang or fail the push.
    @Test func aResetOnAReusedConnectionIsRetriedLikeAnyOther() async throws {
        let (workspace, registry, proxy) = try await rig(
            [
                .reset("HEAD", "/blobs/sha256:", skip: 1, count: 1), .reset("PUT", Self.blobPUT, skip: 1, count: 1),
            ], keepAlive: true)
        defer {
            proxy.stop()
            registry.stop()
        }

        let result = try await publish(
            workspace, ["--registry", proxy.host + "/reused", "--tls-verify=false", "--jobs", "1"])
        try #require(result.succeeded, "\(result.stderr)")
        #expect(try proxy.requests().filter { $0.action == "reset" }.count == 2)
        for binary in Self.binaries {
            let raw = try await Tool.check(
                "skopeo",
                ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/reused/\(binary):v1.0.0"])
            #expect(raw.contains("\"manifests\""), "\(binary): \(raw)")
        }
    }

    @Test func aWrongDigestInTheAnswerFailsNamingBothAndTagsNothing() async throws {
        let workspace = try await release()
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        // An older image under the tag this publish would set: it must stay.
        let old = workspace + "/_output/release-images/amd64/kube-proxy.tar"
        try await Tool.check(
            "skopeo",
            [
                "copy", "--dest-tls-verify=false", "docker-archive:" + old,
                "docker://\(registry.host)/manifest/kube-apiserver:v1.0.0",
            ])
        let oldDigest = try #require(try await Self.resolves("\(registry.host)/manifest/kube-apiserver:v1.0.0"))
        let before = try Self.fingerprint(workspace)

        let proxy = try await FaultProxy(
            upstream: registry.port,
            rules: [.wrongDigest("PUT", "/manifest/.*/manifests/sha256:"), .wrongDigest("PUT", "/blob/.*digest=")],
            scratch: registry.directory)
        defer { proxy.stop() }
        let manifest = try await publish(workspace, ["--registry", proxy.host + "/manifest", "--tls-verify=false"])
        let line = Self.oneError(manifest, "manifest")
        let sent = try #require(line.firstMatch(of: /what kbuild sent as (sha256:[0-9a-f]{64})/)?.1)
        #expect(line.contains(FaultRule.wrong), "\(line)")
        #expect(try await Self.resolves("\(registry.host)/manifest/kube-apiserver:v1.0.0") == oldDigest)
        #expect(try await Self.tagged(registry, "manifest") == ["kube-apiserver"], "only the old tag")
        #expect(try proxy.requests().allSatisfy { !($0.method == "PUT" && $0.path.contains("/manifests/v")) })
        #expect(line.hasPrefix("error: \(proxy.host)/manifest/kube-") && line.contains("@\(sent): "), "\(line)")

        let blob = try await publish(workspace, ["--registry", proxy.host + "/blob", "--tls-verify=false"])
        let blobLine = Self.oneError(blob, "blob")
        #expect(blobLine.contains(" blob sha256:") && blobLine.contains(FaultRule.wrong), "\(blobLine)")
        #expect(
            try proxy.requests().allSatisfy {
                !($0.method == "PUT" && $0.path.contains("/blob/kube-apiserver/manifests/"))
            })
        #expect(try Self.fingerprint(workspace) == before)
    }

    @Test func aQuotaErrorIsOneLineWithTheRegistrysMessageAndIsNotRetried() async throws {
        let workspace = try await release()
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let body = #"{"errors":[{"code":"DENIED","message":"quota exceeded: repository quota/ may hold 1 MiB"}]}"#
        let proxy = try await FaultProxy(
            upstream: registry.port, rules: [.status(413, "PUT", Self.blobPUT, body: body)],
            scratch: registry.directory)
        defer { proxy.stop() }
        let before = try Self.fingerprint(workspace)
        let result = try await publish(workspace, ["--registry", proxy.host + "/quota", "--tls-verify=false"])
        let line = Self.oneError(result)
        #expect(line.contains(" blob sha256:"), "\(line)")
        #expect(line.contains("HTTP 413: DENIED: quota exceeded: repository quota/ may hold 1 MiB"), "\(line)")
        let refused = try proxy.requests().filter { $0.status == 413 }.map(\.path)
        #expect(Set(refused).count == refused.count, "a 413 is not retried: \(refused)")
        // Only the tags were asked for (HEAD, before any blob); no manifest was sent.
        #expect(try proxy.requests().allSatisfy { !$0.path.contains("/manifests/") || $0.method == "HEAD" })
        #expect(try Self.fingerprint(workspace) == before)
    }

    @Test func unauthorizedAndForbiddenAreOneLineAndNeverShowTheCredential() async throws {
        let workspace = try await release()
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let denied = #"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#
        let unauthorized = #"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
        let proxy = try await FaultProxy(
            upstream: registry.port,
            rules: [
                .status(
                    401, "POST", "/unauthorized/", body: unauthorized,
                    headers: ["WWW-Authenticate": #"Basic realm="fault-proxy""#]),
                .status(403, "PUT", "/forbidden/.*/manifests/", body: denied),
            ], scratch: registry.directory)
        defer { proxy.stop() }
        let files = try TemporaryDirectory("kbuild-fault-auth")
        defer { files.remove() }
        let password = "hunter2-never-printed"
        let auth = Data("releaser:\(password)".utf8).base64EncodedString()
        try writeFile(files.appending("auth.json"), #"{"auths": {"\#(proxy.host)": {"auth": "\#(auth)"}}}"#)
        let env: [String: String?] = ["REGISTRY_AUTH_FILE": files.appending("auth.json")]
        let before = try Self.fingerprint(workspace)

        let refused = try await publish(
            workspace, ["--registry", proxy.host + "/unauthorized", "--tls-verify=false", "--jobs", "1"], env)
        let line = Self.oneError(refused, "401")
        // The registry's own words: the transport passes a 401's body on.
        #expect(
            line.contains("POST http://\(proxy.host)/v2/unauthorized/kube-")
                && line.hasSuffix("HTTP 401: UNAUTHORIZED: authentication required"),
            "\(line)")
        // It did answer the challenge with the auth file's entry (a second, authorized HEAD).
        #expect(try proxy.requests().filter { $0.status == 401 }.count == 2)

        let forbidden = try await publish(
            workspace, ["--registry", proxy.host + "/forbidden", "--tls-verify=false"], env)
        let forbiddenLine = Self.oneError(forbidden, "403")
        #expect(
            forbiddenLine.contains("HTTP 403: DENIED: requested access to the resource is denied"), "\(forbiddenLine)")
        #expect(try await Self.tagged(registry, "forbidden").isEmpty)
        for result in [refused, forbidden] {
            for secret in [password, auth] {
                #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret))
            }
        }
        #expect(try Self.fingerprint(workspace) == before)
    }

    @Test func aRegistryKilledMidPushFailsInOneLineAndTheRerunSendsOnlyWhatIsMissing() async throws {
        let workspace = try await release()
        var registry = try await RegistryServer.start()
        defer { registry.stop() }
        let before = try Self.fingerprint(workspace)
        let arguments = ["--registry", registry.host + "/down", "--tls-verify=false", "--jobs", "1"]
        async let run = publish(workspace, arguments)
        // Killed as soon as it has stored the first blob.
        var stored = false
        for _ in 0..<20000 where !stored {
            stored = try registry.requests().contains { $0.hasPrefix("PUT ") && $0.contains("/blobs/uploads/") }
            if !stored { try await Task.sleep(nanoseconds: 1_000_000) }
        }
        registry.kill()
        let killed = try await run
        try #require(stored, "the publish never stored a blob")
        let line = Self.oneError(killed)
        #expect(line.contains(" blob sha256:") && line.contains("connection refused"), "\(line)")
        #expect(try Self.fingerprint(workspace) == before)

        registry = try await registry.restarted()
        #expect(try await Self.tagged(registry, "down").isEmpty, "nothing tagged")
        let storedBefore = Set(try registry.requests().filter { $0.hasPrefix("PUT ") && $0.contains("/blobs/") })
        let count = try registry.requests().count
        let rerun = try await publish(workspace, arguments)
        try #require(rerun.succeeded, "\(rerun.stderr)")
        // What the killed run stored is found by HEAD (at least what its log shows; a blob stored just
        // before the kill may not have made it into the log) and only the rest is sent.
        let counts = /(\d+) blobs pushed \(\d+ bytes\), \d+ mounted, (\d+) present;/
        let summary = try #require(rerun.stdout.firstMatch(of: counts))
        let (pushed, present) = (Int(summary.1) ?? -1, Int(summary.2) ?? -1)
        #expect(
            pushed + present == 6 && present >= storedBefore.count && present >= 1,
            "\(storedBefore) \(rerun.stdout)")
        let again = try registry.requests().dropFirst(count).filter { $0.hasPrefix("PUT ") && $0.contains("/blobs/") }
        #expect(again.count == pushed, "\(again)")
        #expect(try await Self.tagged(registry, "down") == Self.binaries)
    }

    @Test func anUploadTargetOutOfSpaceTooSmallOrResetIsCompletedByARerunWithTheSumsLast() async throws {
        let workspace = try await release()
        let server = try await NginxServer.start()
        defer { server.stop() }
        let big = "kubernetes-server-linux-amd64.tar.gz"
        let proxy = try await FaultProxy(
            upstream: server.port,
            rules: [
                .status(507, "PUT", big + "$", count: 1, body: "insufficient storage: releases/ is full"),
                .status(413, "PUT", big + "$", count: 1, body: "request entity too large: at most 4 MiB"),
                .reset("PUT", big + "$", count: 1),
            ], scratch: server.prefix)
        defer { proxy.stop() }
        let prefix = proxy.url + "/releases/v1.0.0"
        let uploaded = server.root + "/releases/v1.0.0"
        let tars = workspace + "/_output/release-tars"
        let names = try FileManager.default.contentsOfDirectory(atPath: tars).sorted()
        let before = try Self.fingerprint(workspace)

        for (status, said) in [(507, "insufficient storage: releases/ is full"), (413, "request entity too large")] {
            let result = try await publish(workspace, ["--upload", prefix])
            let line = Self.oneError(result, "\(status)")
            #expect(line.contains("\(big): PUT \(prefix)/\(big): HTTP \(status): \(said)"), "\(line)")
            let there = (try? FileManager.default.contentsOfDirectory(atPath: uploaded)) ?? []
            #expect(!there.contains(big) && !there.contains("SHA256SUMS") && !there.contains("SHA512SUMS"))
            #expect(try Self.fingerprint(workspace) == before)
        }
        // One PUT each: a 507 or a 413 is not worth another try.
        #expect(try proxy.requests().filter { $0.path.hasSuffix(big) && $0.method == "PUT" }.count == 2)

        // The re-run: the reset PUT goes again, only the missing files go up, SHA256SUMS the last.
        let missing = names.filter { !FileManager.default.fileExists(atPath: uploaded + "/" + $0) }
        let count = try server.requests().count
        let rerun = try await publish(workspace, ["--upload", prefix])
        try #require(rerun.succeeded, "\(rerun.stderr)")
        let puts = try server.requests().dropFirst(count).filter { $0.hasPrefix("PUT ") }
        // nginx also logs the PUT the proxy cut (and dropped it): the big file shows twice.
        let sent = puts.map { String($0.split(separator: "/").last ?? "") }
        #expect(sent.sorted() == (missing + [big]).sorted(), "\(puts)")
        #expect(puts.last == "PUT /releases/v1.0.0/SHA256SUMS")
        #expect(try proxy.requests().filter { $0.path.hasSuffix(big) && $0.action == "reset" }.count == 1)
        #expect(
            rerun.stdout.contains(
                "uploaded \(missing.count) files to \(prefix), \(names.count - missing.count) already there"),
            "\(rerun.stdout)")
        try await Tool.check("sha256sum", ["-c", "--strict", "SHA256SUMS"], in: uploaded)
        for name in names {
            #expect(FileManager.default.contentsEqual(atPath: tars + "/" + name, andPath: uploaded + "/" + name))
        }
    }
}
