import Foundation
import KbuildConfig
import KbuildCore
import KbuildGo
import KbuildVersion

/// Everything a command needs about a workspace: config, version, source date, plan and Go.
public struct LoadedWorkspace: Sendable {
    public var plan: ReleasePlan
    /// nil when no `go` was found; the build step reports that, planning does not need it.
    public var toolchain: GoToolchain?
}

/// Reads a workspace into a `ReleasePlan`: config (validated, narrowed by the environment),
/// then the version and the source date, computed once.
public enum ReleaseLoader {
    public static func load(
        workspace: String, configPath: String? = nil, environment: [String: String],
        style: VersionStyle? = nil, quick: Bool = false, runner: any ProcessRunner = SubprocessRunner()
    ) async throws -> LoadedWorkspace {
        let workspace = absoluteWorkspace(workspace)
        let toolchain = try? await GoToolchain.locate(runner: runner, environment: environment)
        let known = (try? await toolchain?.distList(runner: runner)) ?? ReleaseConfig.knownPlatforms
        let file = Paths.absolute(configPath ?? ReleaseConfig.defaultPath, relativeTo: workspace)
        var environment = environment
        if quick { environment["KUBE_FASTBUILD"] = "true" }
        let config = try ConfigLoader.load(file: file, workspace: workspace, knownPlatforms: known)
            .applyingEnvironment(environment, host: .host)
        let resolver = VersionResolver(runner: runner)
        // One source date for the plan and the stamped buildDate.
        let sourceDate = try await resolver.sourceDate(workspace: workspace, environment: environment)
        let version = try await resolver.resolve(
            workspace: workspace, environment: environment, baseFile: config.version.baseFile,
            style: style ?? config.version.style, sourceDate: sourceDate)
        let plan = ReleasePlanner.plan(
            config: config, version: version, sourceDate: sourceDate, workspace: workspace)
        if let toolchain {
            try await verifyVersionVariables(
                plan, toolchain: toolchain, goCache: environment["KBUILD_GOCACHE"], runner: runner)
        }
        return LoadedWorkspace(plan: plan, toolchain: toolchain)
    }

    /// Asks Go that every configured `version.variables` target is a string variable (Kubernetes' default
    /// names are not probed: base.go declares them). Without Go, planning goes on and the build reports it.
    public static func verifyVersionVariables(
        _ plan: ReleasePlan, toolchain: GoToolchain, goCache: String?, runner: any ProcessRunner
    ) async throws {
        let version = plan.config.version
        guard version.stamp != .kubernetes(package: version.package) else { return }
        let settings = GoBuildSettings(
            workspace: plan.workspace, goState: plan.layout.goState, modMode: plan.config.go.mod.rawValue,
            tags: plan.config.go.tags, jobs: 1, goCache: goCache.flatMap { $0.isEmpty ? nil : $0 })
        let check = VersionVariableCheck(toolchain: toolchain, settings: settings, runner: runner)
        let mains = Array(Set(plan.config.binaries.map(\.package))).sorted()
        try await check.verify(version.stamp, mainPackages: mains, cacheDirectory: plan.layout.cache)
    }

    /// `path` made absolute against the current directory, without a trailing slash.
    public static func absoluteWorkspace(_ path: String) -> String {
        var absolute = Paths.absolute(path, relativeTo: FileManager.default.currentDirectoryPath)
        while absolute.count > 1 && absolute.hasSuffix("/") { absolute.removeLast() }
        return URL(fileURLWithPath: absolute).standardizedFileURL.path
    }
}
