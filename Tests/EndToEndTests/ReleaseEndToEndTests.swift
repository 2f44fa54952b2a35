import Foundation
import KbuildCore
import TestSupport
import Testing

/// `kbuild release` on a temp git clone of examples/, checked with GNU tar, sha256sum, podman.
@Suite(.serialized) struct ReleaseEndToEndTests {
    static let epoch = "1700000000"

    @Test func releaseHasTheKubernetesLayoutAndVerifies() async throws {
        let dir = try TemporaryDirectory("kbuild-e2e")
        defer { dir.remove() }
        let workspace = dir.appending("clone")
        _ = try await Repository.exampleWorkspace(in: workspace, tag: "v1.2.3")
        let result = try await runKbuild(["release"], in: workspace, ["SOURCE_DATE_EPOCH": Self.epoch])
        try #require(result.succeeded, "\(result.stderr)\n\(result.stdout)")
        let tars = workspace + "/_output/release-tars"
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
        for expected in [
            "kubernetes.tar.gz", "kubernetes-src.tar.gz", "kubernetes-manifests.tar.gz",
            "kubernetes-client-linux-amd64.tar.gz", "kubernetes-client-darwin-arm64.tar.gz",
            "kubernetes-client-windows-amd64.tar.gz", "kubernetes-server-linux-amd64.tar.gz",
            "kubernetes-server-linux-arm64.tar.gz", "kubernetes-server-linux-arm.tar.gz",
            "kubernetes-node-linux-amd64.tar.gz", "kubernetes-node-linux-arm64.tar.gz",
            "SHA256SUMS", "SHA512SUMS", "artifacts.json", "kubernetes.tar.gz.sha256", "kubernetes.tar.gz.sha512",
        ] {
            #expect(names.contains(expected), "\(expected) missing; have \(names.sorted())")
        }
        try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: tars)
        try await Tool.check("sha512sum", ["-c", "--quiet", "SHA512SUMS"], in: tars)

        // Every entry: owner 0/0 and the SOURCE_DATE_EPOCH time (2023-11-14 22:13:20 UTC).
        let server = tars + "/kubernetes-server-linux-amd64.tar.gz"
        let listing = try await Tool.check(
            "tar", ["--numeric-owner", "--full-time", "-tvzf", server], environment: ["TZ": "UTC"])
        let lines = listing.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.contains(" 0/0 ") && line.contains("2023-11-14 22:13:20"), "\(line)")
        }
        let paths = Set(lines.compactMap { $0.split(separator: " ").last.map(String.init) })
        for path in [
            "kubernetes/server/bin/kube-apiserver", "kubernetes/server/bin/kube-apiserver.tar",
            "kubernetes/server/bin/kube-apiserver.docker_tag", "kubernetes/server/bin/kubectl",
            "kubernetes/server/bin/kubelet", "kubernetes/kubernetes-src.tar.gz", "kubernetes/LICENSES",
            "kubernetes/addons/dns/coredns-1.11.yaml",
        ] {
            #expect(paths.contains(path), "\(path) not in server tarball")
        }
        #expect(!paths.contains { $0.contains("demo") }, "excluded demo add-on shipped")

        // The docker_tag in the server tarball is the md5 of its binary.
        let unpacked = dir.appending("server")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        try await Tool.check("tar", ["-xzf", server, "-C", unpacked])
        let bin = unpacked + "/kubernetes/server/bin"
        for name in ["kube-apiserver", "kube-proxy", "kube-controller-manager"] {
            let md5 = try await Tool.check("md5sum", [bin + "/" + name]).prefix(32)
            let tag = try String(contentsOfFile: bin + "/\(name).docker_tag", encoding: .utf8)
            #expect(tag == md5 + "\n", "\(name)")
            let tags = try await Tool.check("skopeo", ["list-tags", "docker-archive:\(bin)/\(name).tar"])
            #expect(
                tags.contains("\"registry.k8s.io/\(name)-amd64:\(md5)\""), "\(name) tar does not carry its tag: \(tags)"
            )
        }

        // `podman load` of the shipped image restores exactly the tag of the docker_tag file.
        let store = dir.appending("podman")
        let podman = ["--root", store + "/root", "--runroot", store + "/run", "--storage-driver", "vfs"]
        defer { try? FileManager.default.removeItem(atPath: store) }
        try await Tool.check("podman", podman + ["load", "-q", "-i", bin + "/kube-proxy.tar"])
        let loaded = try await Tool.check("podman", podman + ["images", "--format", "{{.Repository}}:{{.Tag}}"])
        let proxyTag = try String(contentsOfFile: bin + "/kube-proxy.docker_tag", encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        #expect(loaded == "registry.k8s.io/kube-proxy-amd64:\(proxyTag)\n", "\(loaded)")

        // The version file matches `kbuild version`, and the binary prints it.
        let version = try await runKbuild(["version", "--short"], in: workspace)
        let full = dir.appending("full")
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        try await Tool.check("tar", ["-xzf", tars + "/kubernetes.tar.gz", "-C", full])
        #expect(try String(contentsOfFile: full + "/kubernetes/version", encoding: .utf8) == version.stdout)
        #expect(version.stdout == "v1.2.3\n")
        #expect(FileManager.default.fileExists(atPath: full + "/kubernetes/server/kubernetes-manifests.tar.gz"))
        let printed = try await Tool.check(bin + "/kube-apiserver", ["--version"])
        #expect(printed.contains("v1.2.3"))

        // The src tarball knows its version without git.
        let src = dir.appending("src")
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        try await Tool.check("tar", ["-xzf", tars + "/kubernetes-src.tar.gz", "-C", src])
        #expect(!FileManager.default.fileExists(atPath: src + "/.git"))
        let fromSource = try await runKbuild(["version", "--short"], in: src)
        #expect(fromSource.stdout == "v1.2.3\n", "\(fromSource.stderr)")

        // artifacts.json lists every tarball with its size and sha256.
        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: tars + "/artifacts.json")))
        let artifacts = try #require(json as? [[String: Any]])
        let serverArtifact = try #require(
            artifacts.first { ($0["name"] as? String) == "kubernetes-server-linux-amd64.tar.gz" })
        let serverSHA = try await Tool.check("sha256sum", [server]).prefix(64)
        #expect(serverArtifact["sha256"] as? String == String(serverSHA))
        #expect(serverArtifact["os"] as? String == "linux" && serverArtifact["arch"] as? String == "amd64")
    }

    @Test func twoReleasesInTwoClonesAreByteIdentical() async throws {
        let dir = try TemporaryDirectory("kbuild-repro")
        defer { dir.remove() }
        let platforms = "linux/amd64 linux/arm64 darwin/arm64 windows/amd64"
        var sums: [String] = []
        // Both releases are signed with one key: Ed25519 is deterministic, so the signed documents match too.
        let key = try await Keys.make(in: dir)
        let documents = ["kubernetes.spdx.json", "kubernetes.intoto.jsonl", "SHA256SUMS.sig"]
        for (index, (clone, tz, umaskValue, locale)) in [
            ("first", "UTC", "022", "C"), ("second/deeper-clone", "Asia/Kolkata", "077", "C.UTF-8"),
        ].enumerated() {
            let workspace = dir.appending(clone)
            // Different commit wall-clock dates would change HEAD time, so pin it; the run time differs anyway.
            _ = try await Repository.exampleWorkspace(in: workspace, tag: "v0.5")
            let result = try await Tool.run(
                "/bin/sh",
                [
                    "-c", "umask \(umaskValue) && exec \"$0\" \"$@\"", Repository.kbuildBinary, "release", "--sign-key",
                    key.privatePEM,
                ],
                in: workspace,
                environment: [
                    "KUBE_BUILD_PLATFORMS": platforms, "TZ": tz, "LANG": locale, "LC_ALL": locale,
                    "KBUILD_GOCACHE": SharedGoCache.path,
                ])
            try #require(result.succeeded, "run \(index): \(result.stderr)")
            sums.append(try String(contentsOfFile: workspace + "/_output/release-tars/SHA512SUMS", encoding: .utf8))
            if index == 0 { sleep(1) }
        }
        #expect(sums[0] == sums[1])
        #expect(sums[0].contains("kubernetes-server-linux-amd64.tar.gz"))
        let images = ["first", "second/deeper-clone"].map {
            dir.appending($0) + "/_output/release-images/amd64/kube-proxy.tar"
        }
        #expect(FileManager.default.contentsEqual(atPath: images[0], andPath: images[1]))
        for document in documents {
            let copies = ["first", "second/deeper-clone"].map {
                dir.appending($0) + "/_output/release-tars/" + document
            }
            #expect(FileManager.default.fileExists(atPath: copies[0]), "\(document) missing")
            #expect(FileManager.default.contentsEqual(atPath: copies[0], andPath: copies[1]), "\(document) differs")
        }
    }

    @Test func interruptedReleaseKeepsThePreviousOne() async throws {
        let dir = try TemporaryDirectory("kbuild-kill")
        defer { dir.remove() }
        let workspace = dir.appending("clone")
        let repo = try await Repository.exampleWorkspace(in: workspace, tag: "v1.0.0")
        let env = ["KUBE_BUILD_PLATFORMS": "linux/amd64", "KBUILD_GOCACHE": SharedGoCache.path]
        let first = try await runKbuild(["release"], in: workspace, env)
        try #require(first.succeeded, "\(first.stderr)")
        let tars = workspace + "/_output/release-tars"
        let original = try snapshot(tars)
        var before = original

        // A new commit and a new SOURCE_DATE_EPOCH for every attempt: each one has real work to do (every
        // binary's buildDate, every tarball's times). Kill it at several points. A release is fast once Go's
        // cache is warm, so an attempt may finish before its kill: then release-tars must be that complete
        // new release, which becomes the one the next attempt must keep.
        try repo.write("CHANGELOG.md", "next\n")
        try await repo.commitAll("Next", date: "2024-02-02T00:00:00Z")
        for (attempt, delay) in [0.3, 1.0, 2.0].enumerated() {
            var attemptEnv = env
            attemptEnv["SOURCE_DATE_EPOCH"] = String(1_710_000_000 + attempt)
            let pid = try spawn(Repository.kbuildBinary, ["release"], in: workspace, environment: attemptEnv)
            try await Task.sleep(for: .seconds(delay))
            var status: Int32 = 0
            let finished = waitpid(pid, &status, WNOHANG) != 0  // its pid, or -1 when Foundation reaped it
            if !finished {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                #expect(try snapshot(tars) == before, "release-tars changed after SIGKILL at \(delay)s")
            } else {
                let after = try snapshot(tars)
                #expect(after != before, "attempt \(attempt) finished but release-tars did not change")
                try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: tars)
                before = after
            }
        }
        let next = try await runKbuild(["release"], in: workspace, env)
        #expect(next.succeeded, "\(next.stderr)")
        #expect(try snapshot(tars) != original)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: workspace + "/_output")
            .filter { $0.contains("kbuild-tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    func snapshot(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return files
    }
}

/// Runs the built kbuild in `directory` with the shared Go cache and `environment` on top. The
/// caller's KUBE_* variables and kbuild's own settings (remote cache, signing key) are cleared first, so a
/// developer's shell cannot change what a test sees.
func runKbuild(_ arguments: [String], in directory: String, _ environment: [String: String?] = [:]) async throws
    -> CommandResult
{
    var env: [String: String?] = ["KBUILD_GOCACHE": SharedGoCache.path]
    let settings = [
        "KBUILD_REMOTE_CACHE", "KBUILD_REMOTE_CACHE_UPLOAD", "KBUILD_REMOTE_CACHE_TIMEOUT",
        "KBUILD_REMOTE_CACHE_MAX_BYTES", "KBUILD_SIGN_KEY", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY",
    ]
    for name in ProcessInfo.processInfo.environment.keys where name.hasPrefix("KUBE_") || settings.contains(name) {
        env[name] = .some(nil)
    }
    env.merge(environment) { $1 }
    return try await Tool.run(Repository.kbuildBinary, arguments, in: directory, environment: env)
}

/// Starts a process without waiting for it (for kill tests).
func spawn(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String]) throws
    -> pid_t
{
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = env
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process.processIdentifier
}
