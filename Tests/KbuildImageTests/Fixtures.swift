import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest
import KbuildImage
import TestSupport
import Testing

/// Shared fixtures: one real static Go binary for every test, podman stores, tiny base images.
enum Fixtures {
    static let created = try! SourceDate(seconds: 1_700_000_000)
    static let registry = "registry.kbuild.test/team"

    /// A static Go binary that prints `hello` and its arguments; built once per test process.
    static let binary = Task<String, any Error> {
        let dir = NSTemporaryDirectory() + "/kbuild-image-tests-go"
        let source = dir + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try "module hello\n\ngo 1.19\n".write(toFile: source + "/go.mod", atomically: true, encoding: .utf8)
        try """
        package main

        import (
        \t"fmt"
        \t"os"
        \t"strings"
        )

        func main() {
        \tfmt.Println(strings.TrimSpace("hello " + strings.Join(os.Args[1:], " ")))
        }

        """.write(toFile: source + "/main.go", atomically: true, encoding: .utf8)
        // Built under a per-process name, then renamed over the shared one (the build is reproducible).
        let output = dir + "/bin/hello"
        let temporary = dir + "/bin/.hello-\(getpid())"
        try await Tool.check(
            "go", ["build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", temporary, "."], in: source,
            environment: [
                "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64", "GOCACHE": dir + "/cache",
                "GOPATH": dir + "/gopath", "HOME": dir, "GOFLAGS": "-mod=mod",
            ])
        guard rename(temporary, output) == 0 else {
            throw FileOutputError(path: output, operation: "rename", errno: errno)
        }
        return output
    }

    static func request(
        binaryPath: String, output: String, platform: Platform = Platform(os: "linux", arch: "amd64"),
        tagScheme: ImageTagScheme = .md5, version: String = "v1.30.0", archSuffix: Bool = true,
        legacyAmd64Name: Bool = false, registry: String = Fixtures.registry
    ) -> ImageRequest {
        ImageRequest(
            binary: "hello", binaryPath: binaryPath, platform: platform, registry: registry, tagScheme: tagScheme,
            version: version, archSuffix: archSuffix, legacyAmd64Name: legacyAmd64Name, outputDirectory: output,
            created: created)
    }

    /// The bytes of one member of a tar.
    static func member(_ name: String, of tarball: String) async throws -> String {
        try await Tool.check("tar", ["-xOf", tarball, name])
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The image config inside a docker-archive tarball.
    static func config(of tarball: String) async throws -> [String: Any] {
        let manifest = try await member("manifest.json", of: tarball)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [[String: Any]])
        let configPath = try #require(entries.first?["Config"] as? String)
        return try json(try await member(configPath, of: tarball))
    }

    /// A layer tar written with the deterministic writer: `etc/base.txt`, an absolute symlink, a dir.
    static func writeBaseLayer(to path: String) throws -> WrittenArchive {
        try Tarball.write(
            [
                .data("etc/base.txt", "from the base\n"),
                .directory("work"),
                TarEntry(path: "bin/sh", content: .symlink(target: "/usr/local/bin/hello")),
                TarEntry(path: "etc/alias", content: .symlink(target: "base.txt")),
            ], to: path, options: TarOptions(compression: .none, mtime: try SourceDate(seconds: 1_600_000_000)))
    }

    /// `base-layer.tar` and a docker-archive base image `base.tar` holding it, in `dir`.
    static func dockerArchiveBase(in dir: TemporaryDirectory) throws -> (layer: WrittenArchive, base: String) {
        let layer = try writeBaseLayer(to: dir.appending("base-layer.tar"))
        let base = dir.appending("base.tar")
        try writeDockerArchiveBase(layer: layer.path, to: base)
        return (layer, base)
    }

    /// A docker-archive base image holding `layer` (its diff_id taken from `diffID` when given, to fake corruption).
    static func writeDockerArchiveBase(
        layer: String, diffID: String? = nil, to path: String, arch: String = "amd64"
    ) throws {
        let layerDigest = try Digest.file(layer, .sha256)
        let config = """
            {"architecture":"\(arch)","os":"linux","created":"2020-09-13T12:26:40Z",\
            "config":{"Env":["PATH=/usr/local/bin:/bin","FOO=bar"],"User":"65532","WorkingDir":"/work","Cmd":["sh"]},\
            "rootfs":{"type":"layers","diff_ids":["\(diffID ?? layerDigest.description)"]},\
            "history":[{"created":"2020-09-13T12:26:40Z","created_by":"test base layer"}]}
            """
        let configHex = Digest.of(Array(config.utf8), .sha256).hex
        let manifest = """
            [{"Config":"\(configHex).json","RepoTags":["base.test/base:1"],"Layers":["\(layerDigest.hex)/layer.tar"]}]
            """
        try Tarball.write(
            [
                .data("manifest.json", manifest), .data("\(configHex).json", config),
                .file("\(layerDigest.hex)/layer.tar", source: layer, executable: false),
            ], to: path, options: TarOptions(compression: .none, mtime: try SourceDate(seconds: 0)))
    }

    /// A base whose only layer is written by `body` (for malicious entries).
    static func baseWithLayer(in dir: TemporaryDirectory, name: String, _ body: (String) async throws -> Void)
        async throws -> String
    {
        let layer = dir.appending("\(name)-layer.tar")
        try await body(layer)
        let base = dir.appending("\(name)-base.tar")
        try writeDockerArchiveBase(layer: layer, to: base)
        return base
    }
}

/// Runs `body` with a fresh podman store and removes the store afterwards, also on failure.
func withPodmanStore<T>(_ body: (PodmanStore) async throws -> T) async throws -> T {
    let store = try PodmanStore()
    do {
        let result = try await body(store)
        await store.remove()
        return result
    } catch {
        await store.remove()
        throw error
    }
}

/// A throwaway podman store (vfs) under a temp dir; `remove()` deletes it.
struct PodmanStore {
    let dir: TemporaryDirectory

    init() throws {
        dir = try TemporaryDirectory("kbuild-podman")
    }

    var options: [String] {
        [
            "--root", dir.appending("root"), "--runroot", dir.appending("run"), "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs", "--events-backend", "none",
        ]
    }

    @discardableResult
    func check(_ arguments: [String]) async throws -> String {
        try await Tool.check("podman", options + arguments, environment: ["TMPDIR": dir.path])
    }

    func run(_ arguments: [String]) async throws -> CommandResult {
        try await Tool.run("podman", options + arguments, environment: ["TMPDIR": dir.path])
    }

    /// `repository:tag` of every image in the store, sorted.
    func names() async throws -> [String] {
        try await check(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .split(separator: "\n").map(String.init).sorted()
    }

    /// Removes containers (unmounting their shm) and then the whole store.
    func remove() async {
        _ = try? await run(["rm", "--all", "--force"])
        _ = try? FileManager.default.removeItem(atPath: dir.path)
    }
}
