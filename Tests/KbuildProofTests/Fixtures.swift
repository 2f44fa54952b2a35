import Foundation
import KbuildCore
import KbuildDigest
import KbuildProof
import TestSupport

/// A real Go program with a replaced local dependency, built for several platforms, and the documents of a
/// small release made of it.
struct GoFixture {
    let dir: TemporaryDirectory
    /// `<os>/<arch>/<name>` → the binary's path.
    var binaries: [String: String] = [:]

    static let platforms = [
        Platform(os: "linux", arch: "amd64"), Platform(os: "darwin", arch: "arm64"),
        Platform(os: "windows", arch: "amd64"),
    ]

    static func build() async throws -> GoFixture {
        var fixture = GoFixture(dir: try TemporaryDirectory("kbuild-proof"))
        let root = fixture.dir.appending("src")
        let files = [
            "go.mod":
                "module example.com/app\n\ngo 1.19\n\nrequire example.com/dep v0.3.1\n\nreplace example.com/dep => ./dep\n",
            "cmd/app/main.go": "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.Name) }\n",
            "dep/go.mod": "module example.com/dep\n\ngo 1.19\n",
            "dep/dep.go": "package dep\n\nconst Name = \"dep\"\n",
        ]
        for (path, text) in files {
            try FileManager.default.createDirectory(
                atPath: Paths.parent(of: root + "/" + path), withIntermediateDirectories: true)
            try text.write(toFile: root + "/" + path, atomically: true, encoding: .utf8)
        }
        for platform in platforms {
            let output = fixture.dir.appending("bin/\(platform.os)/\(platform.arch)/app")
            try await Tool.check(
                "go", ["build", "-trimpath", "-mod=mod", "-o", output, "./cmd/app"], in: root,
                environment: [
                    "GOOS": platform.os, "GOARCH": platform.arch, "CGO_ENABLED": "0", "GOFLAGS": nil,
                    "GOCACHE": NSTemporaryDirectory() + "/kbuild-test-gocache",
                ])
            fixture.binaries["\(platform.os)/\(platform.arch)/app"] = output
        }
        return fixture
    }

    /// The SBOM input of a release of these binaries: a client tarball per platform and a source tarball.
    func sbomInput() throws -> SBOMInput {
        var binaries: [SBOMBinary] = []
        var artifacts: [SBOMArtifact] = [
            SBOMArtifact(
                name: "app-src.tar.gz", path: "release-tars/app-src.tar.gz", kind: .src,
                sha256: String(repeating: "a", count: 64))
        ]
        for platform in Self.platforms {
            let key = "\(platform.os)/\(platform.arch)/app"
            let data = try Data(contentsOf: URL(fileURLWithPath: binaryPath(key)))
            binaries.append(
                SBOMBinary(
                    name: "app", platform: platform, sha256: Digest.of(data, .sha256).hex,
                    buildInfo: GoBuildInfo.read(binary: data)))
            let name = "app-client-\(platform.os)-\(platform.arch).tar.gz"
            artifacts.append(
                SBOMArtifact(
                    name: name, path: "release-tars/" + name, kind: .client, platform: platform,
                    sha256: Digest.of(Data(name.utf8), .sha256).hex, containsBinaries: [key]))
        }
        artifacts.append(
            SBOMArtifact(
                name: "app.tar", path: "release-images/amd64/app.tar", kind: .image,
                platform: Platform(os: "linux", arch: "amd64"), sha256: String(repeating: "b", count: 64),
                image: "registry.example/app-amd64:0123abcd", containsBinaries: ["linux/amd64/app"]))
        return SBOMInput(
            project: "app", version: "v1.2.3+abc", sourceDate: try SourceDate(seconds: 1_700_000_000),
            toolVersion: "0.1.0", license: "Apache-2.0", artifacts: artifacts, binaries: binaries)
    }

    private func binaryPath(_ key: String) -> String { binaries[key] ?? "" }

    func remove() { dir.remove() }
}
