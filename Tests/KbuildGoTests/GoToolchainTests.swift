import Foundation
import KbuildCore
import TestSupport
import Testing

@testable import KbuildGo

@Suite struct GoToolchainTests {
    @Test func locatesTheInstalledGo() async throws {
        let toolchain = try await locateGo()
        #expect(toolchain.executable.hasPrefix("/") && toolchain.executable.hasSuffix("/go"))
        // Cross-check against go itself, asked directly.
        let printed = try await Tool.check(toolchain.executable, ["version"])
        #expect(printed.contains("go\(toolchain.version) "))
        #expect(FileManager.default.fileExists(atPath: toolchain.goroot + "/bin/go"))
    }

    @Test func goEnvironmentVariableWins() async throws {
        let found = try await locateGo()
        let toolchain = try await GoToolchain.locate(
            runner: SubprocessRunner(), environment: ["GO": found.goroot + "/bin/go", "PATH": "/nonexistent"])
        #expect(toolchain.executable == found.goroot + "/bin/go")
        #expect(toolchain.version == found.version)
    }

    @Test func missingGoIsAClearError() async throws {
        let error = await #expect(throws: GoBuildError.self) {
            _ = try await GoToolchain.locate(
                runner: SubprocessRunner(), environment: ["PATH": "/nonexistent:/also/not"])
        }
        #expect(error == .goNotFound(searchedPath: "/nonexistent:/also/not"))
        let message = try #require(error).description
        #expect(message.contains("go not found on PATH"))
        #expect(message.contains("install golang-go (hack/install-deps.sh)"))
    }

    @Test func goVariableNamingANonExecutableIsAClearError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let notGo = directory.appending("go")
        try "not a program".write(toFile: notGo, atomically: true, encoding: .utf8)
        await #expect(throws: GoBuildError.goNotExecutable(path: notGo)) {
            _ = try await GoToolchain.locate(runner: SubprocessRunner(), environment: ["GO": notGo])
        }
    }

    @Test func parsesGoVersionOutput() {
        #expect(GoToolchain.parseVersion("go version go1.19.8 linux/amd64") == "1.19.8")
        #expect(GoToolchain.parseVersion("go version go1.20 darwin/arm64\n") == "1.20")
        #expect(GoToolchain.parseVersion("go version devel go1.23-4f0b8e1 linux/amd64") == "1.23-4f0b8e1")
        #expect(GoToolchain.parseVersion("gccgo (GCC) 12") == nil)
        #expect(GoToolchain.parseVersion("") == nil)
    }

    @Test func versionRequirementMatchesSeriesOrExactRelease() {
        #expect(GoToolchain.version("1.19.8", matches: "1.19"))
        #expect(GoToolchain.version("1.19", matches: "1.19"))
        #expect(GoToolchain.version("1.19.8", matches: "1.19.8"))
        #expect(GoToolchain.version("1.19.8", matches: "go1.19"))
        #expect(!GoToolchain.version("1.19.8", matches: "1.19.7"))
        #expect(!GoToolchain.version("1.19.8", matches: "1.1"))
        #expect(!GoToolchain.version("1.190.1", matches: "1.19"))
        #expect(!GoToolchain.version("1.20.1", matches: "1.19"))
    }

    @Test func versionMismatchNamesBothVersions() throws {
        let toolchain = GoToolchain(executable: "/usr/bin/go", version: "1.19.8", goroot: "/usr/lib/go-1.19")
        #expect(throws: Never.self) { try toolchain.requireVersion("1.19") }
        let error = #expect(throws: GoBuildError.self) { try toolchain.requireVersion("1.21") }
        #expect(error == .versionMismatch(required: "1.21", found: "1.19.8", executable: "/usr/bin/go"))
        let message = try #require(error).description
        #expect(message.contains("1.21") && message.contains("1.19.8"))
    }

    @Test func distListHasTheReleasePlatforms() async throws {
        let platforms = try await locateGo().distList(runner: SubprocessRunner())
        for name in ["linux/amd64", "linux/arm64", "linux/arm", "darwin/arm64", "windows/amd64"] {
            #expect(platforms.contains(try #require(Platform(name))))
        }
        #expect(!platforms.contains(Platform(os: "plan10", arch: "amd64")))
    }
}
