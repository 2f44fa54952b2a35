import Foundation
import KbuildCore
import TestSupport
import Testing

@testable import KbuildGo

/// cgo cross-builds with Debian's real cross-compiler (gcc-aarch64-linux-gnu, from hack/install-deps.sh).
@Suite(.serialized) struct CgoBuildTests {
    static let arm64 = Platform(os: "linux", arch: "arm64")

    /// A main package with C code that embeds `__FILE__`: the checkout path must not reach the binary.
    static func writeCgoProgram(in root: String) throws {
        let source = """
            package main

            /*
            static const char *where(void) { return __FILE__; }
            static int answer(void) { return 42; }
            */
            import "C"

            import "fmt"

            func main() { fmt.Println(C.answer(), C.GoString(C.where())) }

            """
        try FileManager.default.createDirectory(atPath: root + "/cmd/withc", withIntermediateDirectories: true)
        try source.write(toFile: root + "/cmd/withc/main.go", atomically: true, encoding: .utf8)
    }

    func target(_ workspace: Workspace) -> GoBuildTarget {
        GoBuildTarget(
            binary: "withc", package: "./cmd/withc", platform: Self.arm64, isStatic: false,
            output: workspace.layout.binary("withc", Self.arm64))
    }

    @Test func arm64CgoBinaryIsAArch64AndReproducibleAcrossDirectories() async throws {
        let first = try Workspace("kbuild-cgo-a")
        let second = try Workspace("kbuild-cgo-b")
        defer {
            first.remove()
            second.remove()
        }
        let toolchain = try await locateGo()
        var outputs: [Data] = []
        for workspace in [first, second] {
            try Self.writeCgoProgram(in: workspace.root)
            var settings = workspace.settings()
            settings.cgo = [Self.arm64: ["CC": "aarch64-linux-gnu-gcc"]]
            _ = try await GoBuilder(toolchain: toolchain, settings: settings).build([target(workspace)]) { _ in }
            outputs.append(try fileBytes(target(workspace).output))
        }
        // ELF header: magic, 64-bit, e_machine (offset 18, little endian) 183 = EM_AARCH64.
        let bytes = [UInt8](outputs[0])
        #expect(bytes.count > 20 && bytes[0..<4] == [0x7f, 0x45, 0x4c, 0x46] && bytes[4] == 2)
        #expect(bytes.count > 20 && UInt16(bytes[18]) | UInt16(bytes[19]) << 8 == 183)
        let described = try await Tool.check("file", ["-b", target(first).output])
        #expect(described.contains("ARM aarch64"), "\(described)")
        #expect(outputs[0] == outputs[1], "cgo binaries of one source in two directories differ")
        #expect(outputs[0].range(of: Data(first.root.utf8)) == nil, "the checkout path is in the binary")
    }

    @Test func environmentCarriesTheCompilersAndPrefixMaps() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        var settings = workspace.settings()
        settings.cgo = [Self.arm64: ["CGO_CFLAGS": "-DKBUILD=1", "CXX": "clang++ --target=aarch64-linux-gnu"]]
        let toolchain = GoToolchain(executable: "/usr/bin/go", version: "1.19", goroot: "/usr/lib/go")
        let builder = GoBuilder(toolchain: toolchain, settings: settings)
        let env = builder.environment(for: Self.arm64, isStatic: false)
        #expect(env["CGO_ENABLED"] == "1")
        #expect(env["CC"] == "aarch64-linux-gnu-gcc")  // Debian's default for the platform
        #expect(env["CXX"] == "clang++ --target=aarch64-linux-gnu")
        #expect(
            env["CGO_CFLAGS"]
                == "-g -O2 -ffile-prefix-map=\(workspace.root)=. -ffile-prefix-map=\(workspace.layout.goState)=. -DKBUILD=1"
        )
        #expect(builder.environment(for: Self.arm64, isStatic: true)["CC"] == nil)
        #expect(settings.cgoLine(for: Self.arm64) != workspace.settings().cgoLine(for: Self.arm64))
    }

    @Test func missingCompilerIsOneLineNamingPlatformAndDebianPackage() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        try Self.writeCgoProgram(in: workspace.root)
        let s390x = Platform(os: "linux", arch: "s390x")
        var settings = workspace.settings()
        settings.cgo = [s390x: ["CC": "s390x-nonexistent-linux-gnu-gcc"]]
        let target = GoBuildTarget(
            binary: "withc", package: "./cmd/withc", platform: s390x, isStatic: false,
            output: workspace.layout.binary("withc", s390x))
        let error = await #expect(throws: GoBuildError.self) {
            try await GoBuilder(toolchain: try await locateGo(), settings: settings).build([target]) { _ in }
        }
        #expect(
            error?.description
                == "linux/s390x: C compiler s390x-nonexistent-linux-gnu-gcc not found on /usr/bin:/bin for cgo binaries withc (static: false); install the Debian package gcc-s390x-nonexistent-linux-gnu or set cgo.linux/s390x.CC in the release config"
        )
        #expect(!FileManager.default.fileExists(atPath: target.output))
    }
}
