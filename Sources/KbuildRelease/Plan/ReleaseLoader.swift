import Foundation
import KbuildConfig
import KbuildCore
import KbuildDigest
import KbuildGo
import KbuildVersion

/// Everything a command needs about a workspace: config, version, source date, plan and Go.
public struct LoadedWorkspace: Sendable {
    public var plan: ReleasePlan
    /// The Go toolchain, or why none was found: the build step reports that, planning does not need it.
    public var toolchain: Result<GoToolchain, GoBuildError>
    /// The source digest, started before anything else when the command asked for it (`digestSources`).
    public var sources: SourceDigest?

    /// Runs `body`, then stops and awaits what the loader started and `body` left running (the source
    /// digest), on success and on every error alike: nothing outlives the command, so an error line is
    /// the process's last word and its exit status is the one it chose.
    public func using<T>(_ body: (LoadedWorkspace) async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await body(self)
        } catch {
            await sources?.cancel()
            throw error
        }
        await sources?.cancel()
        return result
    }
}

/// Reads a workspace into a `ReleasePlan`: config (validated, narrowed by the environment),
/// then the version and the source date, computed once; with `digestSources`, the source digest
/// the release steps key their outputs on, alongside.
public enum ReleaseLoader {
    public static func load(
        workspace: String, configPath: String? = nil, environment: [String: String],
        style: VersionStyle? = nil, hostOnly: Bool = false, strictVersion: Bool = false,
        digestSources: Bool = false, runner: any ProcessRunner = SubprocessRunner(),
        warn: @Sendable (String) -> Void = { _ in }
    ) async throws -> LoadedWorkspace {
        let workspace = Paths.absolute(workspace)
        try checkWorkspace(workspace)
        // The sources' stat walk needs nothing the loader computes: it runs while git and Go answer.
        let sources = digestSources ? SourceDigest.start(workspace) : nil
        do {
            let (plan, toolchain) = try await plan(
                workspace: workspace, configPath: configPath, environment: environment, style: style,
                hostOnly: hostOnly, strictVersion: strictVersion, runner: runner, warn: warn)
            return LoadedWorkspace(plan: plan, toolchain: toolchain, sources: sources)
        } catch {
            // An error must not leave the walk running when it ends the process.
            await sources?.cancel()
            throw error
        }
    }

    /// Config, Go and version into the plan; the async lets are awaited (cancelled first) on every error.
    private static func plan(
        workspace: String, configPath: String?, environment: [String: String], style: VersionStyle?,
        hostOnly: Bool, strictVersion: Bool, runner: any ProcessRunner, warn: @Sendable (String) -> Void
    ) async throws -> (ReleasePlan, Result<GoToolchain, GoBuildError>) {
        // Go's queries and git's source date do not depend on each other: ask both at once.
        let resolver = VersionResolver(runner: runner)
        async let located = locateToolchain(
            runner: runner, environment: environment, cache: UserCache.directory(environment))
        async let date = resolver.sourceDate(workspace: workspace, environment: environment)
        let (toolchain, known) = await located
        let file = Paths.absolute(configPath ?? ReleaseConfig.defaultPath, relativeTo: workspace)
        let config = try ConfigLoader.load(file: file, workspace: workspace, knownPlatforms: known)
            .applyingEnvironment(environment, host: .host, hostOnly: hostOnly)
        // One source date for the plan and the stamped buildDate.
        let sourceDate = try await date
        let version = try await resolver.resolve(
            workspace: workspace, environment: environment, baseFile: config.version.baseFile,
            style: style ?? config.version.style, sourceDate: sourceDate, strict: strictVersion, warn: warn)
        // Walking the trees the archives carry is blocking I/O: on a thread of its own.
        let listing = try await Blocking.run { try WorkspaceListing.read(config: config, workspace: workspace) }
        let plan = try ReleasePlanner.plan(
            config: config, version: version, sourceDate: sourceDate, workspace: workspace, listing: listing)
        if case .success(let toolchain) = toolchain {
            try await verifyVersionVariables(
                plan, toolchain: toolchain, goCache: environment["KBUILD_GOCACHE"], runner: runner)
        }
        return (plan, toolchain)
    }

    /// The Go toolchain (or why there is none) and the platforms it can target (`go tool dist list`,
    /// remembered under `cache` — the user's, not the workspace's — per Go executable, version and GOROOT;
    /// Kubernetes' known list without Go).
    static func locateToolchain(runner: any ProcessRunner, environment: [String: String], cache: String) async
        -> (Result<GoToolchain, GoBuildError>, Set<Platform>)
    {
        let toolchain: Result<GoToolchain, GoBuildError>
        do {
            toolchain = .success(try await GoToolchain.locate(runner: runner, environment: environment))
        } catch let error as GoBuildError {
            toolchain = .failure(error)
        } catch {
            toolchain = .failure(.toolchainFailed(command: "go version", detail: "\(error)"))
        }
        guard case .success(let go) = toolchain else { return (toolchain, ReleaseConfig.knownPlatforms) }
        return (toolchain, await knownPlatforms(go, runner: runner, cache: cache) ?? ReleaseConfig.knownPlatforms)
    }

    /// `go tool dist list` of `go`: fixed for one Go release in one GOROOT, so it is asked once and read
    /// back after (the query starts two processes, the largest part of planning; nil when Go cannot answer).
    static func knownPlatforms(_ go: GoToolchain, runner: any ProcessRunner, cache: String) async -> Set<Platform>? {
        let key = Digest.of(Data("\(go.executable)\n\(go.version)\n\(go.goroot)\n".utf8), .sha256).hex
        let record = cache + "/go-platforms/" + key + ".txt"
        if let handle = FileHandle(forReadingAtPath: record), let data = try? handle.read(upToCount: 1 << 16) {
            try? handle.close()
            let platforms = String(decoding: data, as: UTF8.self).split(separator: "\n").map { Platform(String($0)) }
            if !platforms.isEmpty, platforms.allSatisfy({ $0 != nil }) { return Set(platforms.compactMap { $0 }) }
        }
        guard let platforms = try? await go.distList(runner: runner) else { return nil }
        let text = platforms.map(\.description).sorted().joined(separator: "\n") + "\n"
        try? FileOutput.writeAtomically(Data(text.utf8), to: record, durable: false)
        return platforms
    }

    /// Refuses a workspace (`-C DIR`) that is not a directory, saying what it is instead.
    public static func checkWorkspace(_ workspace: String) throws(ReleaseError) {
        let (kind, reason) = FileKind.of(workspace)
        guard kind != .directory else { return }
        let what = kind.map { "is \($0)" } ?? reason.lowercased()
        throw .unsafeInput(path: workspace, reason: "\(what) (-C); allowed: a directory, the Go workspace")
    }

    /// Asks Go that every variable the release stamps is a string variable — `version.variables`, and
    /// Kubernetes' six default names too (a pkg/version may declare only some; the linker would silently
    /// ignore the rest). Without Go, planning goes on and the build reports it.
    public static func verifyVersionVariables(
        _ plan: ReleasePlan, toolchain: GoToolchain, goCache: String?, runner: any ProcessRunner
    ) async throws {
        let version = plan.config.version
        let settings = GoBuildSettings(
            workspace: plan.workspace, goState: plan.layout.goState, modMode: plan.config.go.mod,
            tags: plan.config.go.tags, jobs: 1, goCache: goCache.flatMap { $0.isEmpty ? nil : $0 })
        let check = VersionVariableCheck(toolchain: toolchain, settings: settings, runner: runner)
        let mains = Array(Set(plan.config.binaries.map(\.package))).sorted()
        try await check.verify(version.stamp, mainPackages: mains, cacheDirectory: plan.layout.cache)
    }

}
