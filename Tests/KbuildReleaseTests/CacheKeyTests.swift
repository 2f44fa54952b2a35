import Foundation
import KbuildConfig
import KbuildCore
import KbuildGo
import KbuildVersion
import TestSupport
import Testing

@testable import KbuildRelease

/// Cache keys are digests of values: each field that shapes an output changes its key, and what does
/// not (job counts, variables kbuild does not read, files it does not package) leaves it alone.
@Suite struct CacheKeyTests {
    /// The package phase's key for the fixture's workspace as it is now, with `options` and `plan`.
    static func packageKey(
        _ fixture: ReleaseFixture, options: ReleaseOptions = ReleaseOptions(jobs: 2, skipBuild: true),
        plan: ReleasePlan? = nil
    ) async throws -> String {
        let context = StepContext(
            plan: plan ?? fixture.plan, options: options, toolchain: .failure(.goNotFound(searchedPath: "")),
            processes: SubprocessRunner(), cache: OutputCache(directory: fixture.plan.layout.cache),
            progress: { _ in })
        let runner = StepRunner(context: context)
        let workspace = try await runner.readWorkspace(nil)
        var draft = ReleaseDraft()
        _ = try await ImagesStep().run(&draft, in: context)
        // Each call its own scratch directories: where the phase writes is not part of the key.
        let steps = try ReleasePipeline.packageSteps(
            workspace, scratch: PackageScratch(fixture.plan.layout), proof: options.proof)
        return try await runner.unit(phase: .package, steps, sources: workspace.sources, outputs: [], draft).key
    }

    static func options(_ change: (inout ReleaseOptions) -> Void) -> ReleaseOptions {
        var options = ReleaseOptions(jobs: 2, skipBuild: true)
        change(&options)
        return options
    }

    @Test func thePackageKeyFollowsWhatTheArchivesAndDocumentsDependOn() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let base = try await Self.packageKey(fixture)
        // Options the outputs do not depend on, variables kbuild does not read, files outside the sources.
        #expect(try await Self.packageKey(fixture, options: Self.options { $0.jobs = 7 }) == base)
        #expect(
            try await Self.packageKey(
                fixture,
                options: Self.options { $0.proof = ProofOptions(environment: ["EDITOR": "vi", "PATH": "/opt/bin"]) })
                == base)
        try writeFile(fixture.plan.layout.root + "/notes.md", "not a source\n")
        #expect(try await Self.packageKey(fixture) == base)

        let config = fixture.directory.appending("release/kbuild.yaml")
        try writeFile(config, "project: example\n")
        var changed: [String: String] = [:]
        changed["compression level"] = try await Self.packageKey(
            fixture, options: Self.options { $0.compressionLevel = 9 })
        changed["kbuild version"] = try await Self.packageKey(
            fixture, options: Self.options { $0.proof.toolVersion = "v9.9.9" })
        changed["KUBE_ variable"] = try await Self.packageKey(
            fixture, options: Self.options { $0.proof = ProofOptions(environment: ["KUBE_GIT_VERSION": "v1.2.4"]) })
        changed["config file"] = try await Self.packageKey(
            fixture, options: Self.options { $0.proof = ProofOptions(configFile: config) })
        try writeFile(config, "project: other\n")
        let editedConfig = try await Self.packageKey(
            fixture, options: Self.options { $0.proof = ProofOptions(configFile: config) })
        #expect(editedConfig != changed["config file"])
        changed["plan"] = try await Self.packageKey(fixture, plan: fixture.withoutImages().plan)
        try fixture.writeBinary(fixture.plan.builds[1], "a new kubectl\n")
        changed["rebuilt binary"] = try await Self.packageKey(fixture)
        try writeFile(fixture.plan.workspace + "/README.md", "# edited\n")
        changed["source edit"] = try await Self.packageKey(fixture)
        for (field, key) in changed { #expect(key != base, "\(field)") }
        #expect(Set(changed.values).count == changed.count)
    }

    static let toolchain = GoToolchain(executable: "/usr/bin/go", version: "1.22.1", goroot: "/usr/lib/go")

    static func buildKey(
        _ target: GoBuildTarget, sources: String = "sources", toolchain: GoToolchain = toolchain,
        _ change: (inout GoBuildSettings) -> Void = { _ in }
    ) throws -> String {
        var settings = GoBuildSettings(
            workspace: "/src/one", goState: "/src/one/_output/local/go", ldflags: ["-X", "main.version=v1.2.3"],
            jobs: 2, cgo: [Platform(os: "linux", arch: "amd64"): ["CC": "gcc"]])
        change(&settings)
        return try BuildStep.unit(
            target, output: "_output/local/bin/\(target.platform.os)/\(target.platform.arch)/\(target.binary)",
            sources: sources, toolchain: toolchain, settings: settings
        ).key
    }

    @Test func aBinarysKeyFollowsSourcesToolchainAndFlagsButNotWhereOrHowFastItIsBuilt() throws {
        let target = GoBuildTarget(
            binary: "kubectl", package: "./cmd/kubectl", platform: Platform(os: "linux", arch: "amd64"),
            isStatic: true, output: "/src/one/_output/local/bin/linux/amd64/kubectl")
        let base = try Self.buildKey(target)
        // A clone elsewhere, another job count, sandbox or Go cache: the same bytes, the same key.
        #expect(
            try Self.buildKey(target) {
                $0.workspace = "/elsewhere"
                $0.goState = "/elsewhere/_output/local/go"
                $0.jobs = 8
                $0.sandbox = .off
                $0.goCache = "/shared/go-cache"
            } == base)
        #expect(
            try Self.buildKey(
                target, toolchain: GoToolchain(executable: "/opt/go", version: "1.22.1", goroot: "/usr/lib/go"))
                == base)
        var cgoTarget = target
        cgoTarget.isStatic = false
        let changed = [
            try Self.buildKey(target, sources: "edited"),
            try Self.buildKey(
                target, toolchain: GoToolchain(executable: "/usr/bin/go", version: "1.22.2", goroot: "/usr/lib/go")),
            try Self.buildKey(target) { $0.ldflags = ["-X", "main.version=v1.2.4"] },
            try Self.buildKey(target) { $0.tags = ["netgo"] },
            try Self.buildKey(target) { $0.modMode = .vendor },
            try Self.buildKey(target) { $0.requiredGoVersion = "1.22" },
            try Self.buildKey(cgoTarget),
            try Self.buildKey(cgoTarget) { $0.cgo = [Platform(os: "linux", arch: "amd64"): ["CC": "clang"]] },
            try Self.buildKey(
                GoBuildTarget(
                    binary: "kubectl", package: "./cmd/kubectl", platform: Platform(os: "linux", arch: "arm64"),
                    isStatic: true, output: "/src/one/_output/local/bin/linux/arm64/kubectl")),
        ]
        #expect(Set(changed).count == changed.count)
        #expect(!changed.contains(base))
        // cgo variables only matter to binaries built with cgo.
        #expect(try Self.buildKey(target) { $0.cgo = [:] } == base)
    }

    @Test func anImagesKeyFollowsItsBinaryNamingAndBase() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let image = fixture.plan.images[0]
        let base = try ImagesStep.unit(image, base: nil).key
        #expect(try ImagesStep.unit(image, base: nil).key == base)
        let baseFile = fixture.directory.appending("base.tar")
        try writeFile(baseFile, "a base image\n")
        let withBase = try ImagesStep.unit(
            image, base: .init(path: baseFile, file: try #require(FileSignature.ofOutput(baseFile)))
        ).key
        var renamed = image
        renamed.request.registry = "registry.example.com"
        let otherRegistry = try ImagesStep.unit(renamed, base: nil).key
        try fixture.writeBinary(
            try #require(fixture.plan.builds.first { $0.output == image.request.binaryPath }), "new\n")
        let rebuilt = try ImagesStep.unit(image, base: nil).key
        #expect(Set([base, withBase, otherRegistry, rebuilt]).count == 4)
    }

    /// End to end: a file kbuild does not package leaves the release reused; a source edit packs again.
    @Test func aReleaseIsReusedUntilASourceChanges() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        _ = try await fixture.pipeline().release()
        try writeFile(fixture.plan.layout.root + "/notes.md", "not a source\n")
        let unrelated = EventLog()
        _ = try await fixture.pipeline().release { unrelated.record($0) }
        #expect(unrelated.outcomes.first { $0.0 == .pack }?.1 == .reused)
        try writeFile(fixture.plan.workspace + "/README.md", "# edited\n")
        let edited = EventLog()
        _ = try await fixture.pipeline().release { edited.record($0) }
        #expect(edited.outcomes.first { $0.0 == .pack }?.1 == .packed(archives: 7))
    }

    /// Shards belong together when their plan digests match: every field of the identity changes it.
    @Test func theShardDigestFollowsPlanVersionDateGoAndBase() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let plan = fixture.plan
        func digest(
            version: VersionInfo? = nil, date: Int64 = 1_704_164_645, _ change: (inout ReleaseConfig) -> Void = { _ in }
        ) throws -> String {
            var config = plan.config
            change(&config)
            return ReleasePlanner.plan(
                config: config, version: version ?? plan.version, sourceDate: try SourceDate(seconds: date),
                workspace: plan.workspace
            ).digest
        }
        let base = try digest()
        #expect(base == plan.digest)
        var rebuilt = plan.version
        rebuilt.buildDate = "2024-01-02T03:04:06Z"
        var released = plan.version
        released.version = "v1.2.4"
        let changed = [
            try digest(version: rebuilt), try digest(version: released), try digest(date: 1_704_164_646),
            try digest { $0.go.tags = ["netgo"] }, try digest { $0.go.ldflags = ["-extldflags=-static"] },
            try digest { $0.go.mod = .vendor }, try digest { $0.go.version = "1.22" },
            try digest { $0.images.base = "/images/base.tar" },
            try digest { $0.binaries.removeLast() },
        ]
        #expect(Set(changed).count == changed.count)
        #expect(!changed.contains(base))
    }
}
