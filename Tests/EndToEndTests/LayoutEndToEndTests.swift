import Foundation
import KbuildCore
import TestSupport
import Testing

/// examples/layouts/: other projects' release layouts from config, released from a tagged copy and
/// read back with GNU tar, unzip, python3's zipfile and sha256sum.
@Suite(.serialized) struct LayoutEndToEndTests {
    /// Releases `examples/layouts/<name>` tagged `tag`; returns the release directory.
    static func release(_ name: String, tag: String, in dir: TemporaryDirectory) async throws -> String {
        let workspace = dir.appending(name)
        _ = try await Repository.layoutWorkspace(name, in: workspace, tag: tag)
        let result = try await runKbuild(["release"], in: workspace, ["SOURCE_DATE_EPOCH": "1700000000"])
        try #require(result.succeeded, "\(result.stderr)\n\(result.stdout)")
        return workspace + "/_output/release-tars"
    }

    /// `tar -tvzf` as `mode path` lines (directories with their slash).
    static func tarListing(_ path: String) async throws -> [String] {
        try await Tool.check("tar", ["--numeric-owner", "-tvzf", path]).split(separator: "\n").map { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return "\(fields[0]) \(fields[5])"
        }
    }

    /// `unzip -Z` member lines as `mode path`.
    static func zipListing(_ path: String) async throws -> [String] {
        try await Tool.check("unzip", ["-Z", path]).split(separator: "\n").filter {
            $0.hasPrefix("-") || $0.hasPrefix("d")
        }
        .map { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return "\(fields[0]) \(fields[fields.count - 1])"
        }
    }

    static let documentation = [
        "drwxr-xr-x Documentation/", "-rw-r--r-- Documentation/README.md", "drwxr-xr-x Documentation/dev-guide/",
        "-rw-r--r-- Documentation/dev-guide/api_reference_v3.md", "drwxr-xr-x Documentation/op-guide/",
        "-rw-r--r-- Documentation/op-guide/clustering.md",
    ]

    @Test func containerdLayout() async throws {
        let dir = try TemporaryDirectory("kbuild-layout")
        defer { dir.remove() }
        let tars = try await Self.release("containerd", tag: "v1.6.20", in: dir)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
        for platform in ["linux-amd64", "linux-arm64"] {
            let archive = "containerd-1.6.20-\(platform).tar.gz"
            #expect(names.contains(archive) && names.contains(archive + ".sha256sum"), "\(names.sorted())")
            let bins = ["containerd", "containerd-shim", "containerd-shim-runc-v1", "containerd-shim-runc-v2"]
            #expect(
                try await Self.tarListing(tars + "/" + archive)
                    == ["drwxr-xr-x bin/"] + (bins + ["containerd-stress", "ctr"]).map { "-rwxr-xr-x bin/\($0)" })
            // `<digest>  <name>`, as sha256sum -c reads it.
            try await Tool.check("sha256sum", ["-c", archive + ".sha256sum"], in: tars)
        }
        #expect(names.filter { $0.hasPrefix("containerd-") }.count == 4, "\(names.sorted())")
    }

    @Test func etcdLayout() async throws {
        let dir = try TemporaryDirectory("kbuild-layout")
        defer { dir.remove() }
        let tars = try await Self.release("etcd", tag: "v3.5.9", in: dir)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
        #expect(
            names.filter { $0.hasPrefix("etcd-") }
                == Set([
                    "etcd-v3.5.9-linux-amd64.tar.gz", "etcd-v3.5.9-darwin-arm64.zip", "etcd-v3.5.9-windows-amd64.zip",
                ]))
        func expected(_ platform: String, exe: String) -> [String] {
            let wrap = "etcd-v3.5.9-\(platform)/"
            let files =
                Self.documentation + [
                    "-rw-r--r-- README-etcdctl.md", "-rw-r--r-- README-etcdutl.md", "-rw-r--r-- README.md",
                    "-rw-r--r-- READMEv2-etcdctl.md", "-rwxr-xr-x etcd\(exe)", "-rwxr-xr-x etcdctl\(exe)",
                    "-rwxr-xr-x etcdutl\(exe)",
                ]
            // Every entry under the wrap directory: `<mode> <wrap>/<path>`.
            return ["drwxr-xr-x \(wrap)"]
                + files.map { line in
                    let (mode, path) = (line.prefix(10), line.dropFirst(11))
                    return "\(mode) \(wrap)\(path)"
                }
        }
        #expect(try await Self.tarListing(tars + "/etcd-v3.5.9-linux-amd64.tar.gz") == expected("linux-amd64", exe: ""))
        #expect(try await Self.zipListing(tars + "/etcd-v3.5.9-darwin-arm64.zip") == expected("darwin-arm64", exe: ""))
        #expect(
            try await Self.zipListing(tars + "/etcd-v3.5.9-windows-amd64.zip") == expected("windows-amd64", exe: ".exe")
        )
        // Python's zipfile reads the same members, and the executable bit for unzip on Unix.
        let script = """
            import sys, zipfile
            for info in zipfile.ZipFile(sys.argv[1]).infolist():
                print(oct(info.external_attr >> 16), info.filename)
            """
        let python = try await Tool.check("python3", ["-c", script, tars + "/etcd-v3.5.9-windows-amd64.zip"])
        #expect(python.contains("0o100755 etcd-v3.5.9-windows-amd64/etcd.exe\n"), "\(python)")
        #expect(python.contains("0o100644 etcd-v3.5.9-windows-amd64/README-etcdctl.md\n"), "\(python)")
        try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: tars)
    }

    @Test func goreleaserInitLayout() async throws {
        let dir = try TemporaryDirectory("kbuild-layout")
        defer { dir.remove() }
        let tars = try await Self.release("goreleaser", tag: "v1.2.3", in: dir)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
        let archives = [
            "tool_Darwin_arm64.tar.gz", "tool_Linux_arm64.tar.gz", "tool_Linux_i386.tar.gz",
            "tool_Linux_x86_64.tar.gz", "tool_Windows_x86_64.zip",
        ]
        #expect(names.filter { $0.hasPrefix("tool_") } == Set(archives), "\(names.sorted())")
        let extras = ["-rw-r--r-- CHANGELOG.md", "-rw-r--r-- LICENSE", "-rw-r--r-- README.md"]
        #expect(try await Self.tarListing(tars + "/tool_Linux_i386.tar.gz") == extras + ["-rwxr-xr-x tool"])
        #expect(try await Self.zipListing(tars + "/tool_Windows_x86_64.zip") == extras + ["-rwxr-xr-x tool.exe"])
        // One checksums.txt in sha256sum's format over every archive (and the SBOM); no SHA512SUMS.
        #expect(names.contains("checksums.txt") && !names.contains("SHA256SUMS") && !names.contains("SHA512SUMS"))
        let sums = try String(contentsOfFile: tars + "/checksums.txt", encoding: .utf8)
        #expect(sums.split(separator: "\n").map { String($0.dropFirst(66)) } == ["tool.spdx.json"] + archives)
        try await Tool.check("sha256sum", ["-c", "--quiet", "checksums.txt"], in: tars)
    }

    /// Plain binaries as assets with a digest-only `.sha256`, and an archive with a generated version file;
    /// `kbuild verify` passes on both.
    @Test func binaryAssetsAndGeneratedFiles() async throws {
        let dir = try TemporaryDirectory("kbuild-layout")
        defer { dir.remove() }
        let workspace = dir.appending("tool")
        try FileManager.default.copyItem(atPath: Repository.examples + "/layouts/goreleaser", toPath: workspace)
        let config = """
            project: tool
            version: {package: example.com/tool/version, variables: {version: Version}}
            platforms: {client: [linux/amd64, windows/amd64]}
            binaries: [{name: tool, kinds: [client]}]
            archives:
              - name: "{{binary}}-{{os}}-{{arch}}"
                format: binary
                checksums: [sha256]
              - name: "{{project}}-{{version}}-{{os}}"
                wrap: "{{project}}"
                generated: [{dst: version, content: "{{version}}\\n"}]
            sums: {sha256: SHA256SUMS}

            """
        try config.write(toFile: workspace + "/release/kbuild.yaml", atomically: true, encoding: .utf8)
        let repo = try await GitRepository.create(at: workspace)
        try await repo.commitAll("Binary assets")
        try await repo.git("tag", "-a", "v0.3.0", "-m", "v0.3.0")
        let result = try await runKbuild(["release"], in: workspace, ["SOURCE_DATE_EPOCH": "1700000000"])
        try #require(result.succeeded, "\(result.stderr)")
        let tars = workspace + "/_output/release-tars"
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
        for name in [
            "tool-linux-amd64", "tool-linux-amd64.sha256", "tool-windows-amd64.exe", "tool-windows-amd64.exe.sha256",
            "tool-v0.3.0-linux.tar.gz", "tool-v0.3.0-windows.tar.gz", "SHA256SUMS",
        ] {
            #expect(names.contains(name), "\(name) missing: \(names.sorted())")
        }
        #expect(!names.contains("SHA512SUMS"))
        let digest = try await Tool.check("sha256sum", [tars + "/tool-linux-amd64"]).prefix(64)
        #expect(try String(contentsOfFile: tars + "/tool-linux-amd64.sha256", encoding: .utf8) == digest + "\n")
        let printed = try await Tool.check(tars + "/tool-linux-amd64", [])
        #expect(printed.hasPrefix("tool v0.3.0"), "\(printed)")
        let version = try await Tool.check("tar", ["-xOzf", tars + "/tool-v0.3.0-linux.tar.gz", "tool/version"])
        #expect(version == "v0.3.0\n")
        let verified = try await runKbuild(["verify"], in: workspace)
        #expect(verified.succeeded, "\(verified.stdout)")

        // A config that does not load fails verify (one line naming it), rather than dropping the plan's checks.
        try (config + "archives: [\n").write(
            toFile: workspace + "/release/kbuild.yaml", atomically: true, encoding: .utf8)
        let broken = try await runKbuild(["verify"], in: workspace)
        #expect(!broken.succeeded)
        #expect(broken.stderr.hasPrefix("error: \(workspace)/release/kbuild.yaml:"), "\(broken.stderr)")
        #expect(broken.stderr.split(separator: "\n").count == 1, "\(broken.stderr)")
    }

    /// A configured layout, zip included, is byte-identical from two clones in two directories under
    /// two time zones.
    @Test func configuredLayoutsAreReproducible() async throws {
        let dir = try TemporaryDirectory("kbuild-layout")
        defer { dir.remove() }
        var sums: [String] = []
        for (index, place) in ["one", "two/deeper/place"].enumerated() {
            let workspace = dir.appending(place)
            try FileManager.default.createDirectory(
                atPath: Paths.parent(of: workspace), withIntermediateDirectories: true)
            _ = try await Repository.layoutWorkspace("etcd", in: workspace, tag: "v3.5.9")
            let environment = ["SOURCE_DATE_EPOCH": "1700000000", "TZ": index == 0 ? "UTC" : "Pacific/Chatham"]
            let result = try await runKbuild(["release"], in: workspace, environment)
            try #require(result.succeeded, "\(result.stderr)")
            sums.append(try String(contentsOfFile: workspace + "/_output/release-tars/SHA256SUMS", encoding: .utf8))
        }
        #expect(sums[0] == sums[1])
        #expect(sums[0].contains("  etcd-v3.5.9-windows-amd64.zip\n"), "\(sums[0])")
    }
}
