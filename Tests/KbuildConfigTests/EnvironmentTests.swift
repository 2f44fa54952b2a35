import KbuildConfig
import KbuildCore
import TestSupport
import Testing

private func platforms(_ list: String...) -> [Platform] {
    list.map { Platform($0)! }
}

/// Kubernetes' environment conventions applied to the example workspace's config.
@Suite("Environment conventions")
struct EnvironmentTests {
    let config: ReleaseConfig
    let linuxAMD64 = Platform(os: "linux", arch: "amd64")

    init() throws {
        config = try ConfigLoader.load(workspace: Repository.examples)
    }

    @Test func noVariablesChangeNothing() throws {
        #expect(try config.applyingEnvironment([:], host: linuxAMD64) == config)
        let blank = ["KUBE_BUILD_PLATFORMS": " ", "KUBE_FASTBUILD": "false", "KUBE_DOCKER_REGISTRY": ""]
        #expect(try config.applyingEnvironment(blank, host: linuxAMD64) == config)
    }

    @Test func buildPlatformsNarrowEveryKind() throws {
        let narrowed = try config.applyingEnvironment(
            ["KUBE_BUILD_PLATFORMS": "linux/amd64 darwin/arm64"], host: linuxAMD64)
        #expect(narrowed.platforms(for: .client) == platforms("darwin/arm64", "linux/amd64"))
        #expect(narrowed.platforms(for: .server) == platforms("linux/amd64"))
        #expect(narrowed.platforms(for: .node) == platforms("linux/amd64"))
        #expect(narrowed.platforms(for: .test).isEmpty)
        #expect(narrowed.binaries == config.binaries)
        #expect(narrowed.images == config.images)

        let armOnly = try config.applyingEnvironment(["KUBE_BUILD_PLATFORMS": "linux/arm"], host: linuxAMD64)
        #expect(armOnly.platforms(for: .client) == platforms("linux/arm"))
        #expect(armOnly.platforms(for: .server) == platforms("linux/arm"))
        #expect(armOnly.platforms(for: .node).isEmpty)
    }

    @Test func buildPlatformsWinOverFastBuild() throws {
        let narrowed = try config.applyingEnvironment(
            ["KUBE_BUILD_PLATFORMS": "windows/amd64", "KUBE_FASTBUILD": "true"], host: linuxAMD64)
        #expect(narrowed.allPlatforms == platforms("windows/amd64"))
    }

    @Test func buildPlatformNotConfigured() throws {
        let error = #expect(throws: ConfigError.self) {
            try config.applyingEnvironment(["KUBE_BUILD_PLATFORMS": "linux/amd64 linux/s390x"], host: linuxAMD64)
        }
        #expect(
            error
                == .environment(
                    variable: "KUBE_BUILD_PLATFORMS", value: "linux/amd64 linux/s390x",
                    message:
                        "platform linux/s390x is not in the release config; configured: darwin/arm64, linux/amd64, linux/arm, linux/arm64, windows/amd64"
                ))
        #expect(
            error?.description.hasPrefix("KUBE_BUILD_PLATFORMS=\"linux/amd64 linux/s390x\": platform linux/s390x")
                == true)
    }

    @Test func buildPlatformMalformed() throws {
        let error = #expect(throws: ConfigError.self) {
            try config.applyingEnvironment(["KUBE_BUILD_PLATFORMS": "linux"], host: linuxAMD64)
        }
        #expect(error?.description.contains("KUBE_BUILD_PLATFORMS=\"linux\"") == true)
        #expect(error?.description.contains("not an os/arch platform") == true)
    }

    @Test(arguments: ["true", "1", "TRUE"])
    func fastBuildKeepsTheHostOnly(value: String) throws {
        let fast = try config.applyingEnvironment(["KUBE_FASTBUILD": value], host: linuxAMD64)
        for kind in [ReleaseConfig.Kind.client, .server, .node] {
            #expect(fast.platforms(for: kind) == [linuxAMD64])
        }
        #expect(fast.platforms(for: .test).isEmpty)

        // On a Mac only the client has the host platform.
        let mac = try config.applyingEnvironment(["KUBE_FASTBUILD": value], host: Platform(os: "darwin", arch: "arm64"))
        #expect(mac.platforms(for: .client) == platforms("darwin/arm64"))
        #expect(mac.platforms(for: .server).isEmpty)
        #expect(mac.platforms(for: .node).isEmpty)
    }

    @Test func fastBuildOnAnUnconfiguredHost() throws {
        let error = #expect(throws: ConfigError.self) {
            try config.applyingEnvironment(["KUBE_FASTBUILD": "true"], host: Platform(os: "freebsd", arch: "amd64"))
        }
        #expect(
            error
                == .environment(
                    variable: "KUBE_FASTBUILD", value: "true",
                    message:
                        "the host platform freebsd/amd64 is not in the release config; configured: darwin/arm64, linux/amd64, linux/arm, linux/arm64, windows/amd64"
                ))
    }

    @Test func fastBuildValueMustBeABoolean() throws {
        let error = #expect(throws: ConfigError.self) {
            try config.applyingEnvironment(["KUBE_FASTBUILD": "yes please"], host: linuxAMD64)
        }
        #expect(error?.description == "KUBE_FASTBUILD=\"yes please\": expected true or false")
    }

    @Test func dockerRegistryOverrides() throws {
        let overridden = try config.applyingEnvironment(
            ["KUBE_DOCKER_REGISTRY": "localhost:5000/staging"], host: linuxAMD64)
        #expect(overridden.images.registry == "localhost:5000/staging")
        #expect(overridden.platformsByKind == config.platformsByKind)
    }

    @Test func dockerRegistryIsValidated() throws {
        let error = #expect(throws: ConfigError.self) {
            try config.applyingEnvironment(["KUBE_DOCKER_REGISTRY": "Registry.example.com"], host: linuxAMD64)
        }
        guard case let .environment(variable, value, message) = error else {
            Issue.record("expected an environment error, got \(String(describing: error))")
            return
        }
        #expect(variable == "KUBE_DOCKER_REGISTRY")
        #expect(value == "Registry.example.com")
        #expect(message.contains("expected lowercase host[:port][/path]"))
    }
}
