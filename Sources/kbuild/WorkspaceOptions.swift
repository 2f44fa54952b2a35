import ArgumentParser
import Foundation
import KbuildConfig
import KbuildCore
import KbuildGo
import KbuildRelease

/// Where the workspace and its release config are: every command that reads a workspace.
struct LocationOptions: ParsableArguments {
    @Option(
        name: [.customShort("C"), .customLong("directory")],
        help: ArgumentHelp("The Go workspace to work on.", valueName: "dir"))
    var directory: String = "."

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("The release config (default: <dir>/release/kbuild.yaml).", valueName: "file"))
    var config: String?

    /// The workspace, absolute.
    var workspace: String { Paths.absolute(directory) }

    /// `--config` made absolute, if given.
    var configFile: String? { config.map { Paths.absolute($0) } }

    /// The version settings of the release config: `--config`, else `release/kbuild.yaml` if the
    /// workspace has one (an unpacked source tarball or a plain Go module may have none).
    func versionSettings() throws -> ReleaseConfig.VersionSettings? {
        let file = configFile ?? workspace + "/" + ReleaseConfig.defaultPath
        guard config != nil || FileManager.default.fileExists(atPath: file) else { return nil }
        return try ConfigLoader.load(file: file, workspace: workspace, knownPlatforms: ReleaseConfig.knownPlatforms)
            .version
    }
}

/// The environment variables every workspace command reads, for `--help`.
enum EnvironmentHelp {
    static let workspace = """
        Environment: KUBE_BUILD_PLATFORMS ("linux/amd64 darwin/arm64") narrows the platforms; \
        KUBE_FASTBUILD=true builds the host platform only; KUBE_DOCKER_REGISTRY replaces images.registry; \
        SOURCE_DATE_EPOCH sets every timestamp (else the HEAD commit time); KUBE_GIT_VERSION_FILE, \
        KUBE_GIT_VERSION, KUBE_GIT_COMMIT, KUBE_GIT_TREE_STATE override the version (see `kbuild version --help`); \
        GO names the go executable (else PATH); KBUILD_GOCACHE shares one Go build cache across workspaces.
        """
}

/// Options every workspace command shares.
struct WorkspaceOptions: ParsableArguments {
    @OptionGroup var location: LocationOptions

    /// The cores of this machine, asked once.
    static let cores = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var parallel: JobsOption

    /// `--jobs`, if given.
    var jobs: Int? { parallel.jobs }

    @Flag(
        name: .customLong("quick"),
        help: "Host platform only; the same as KUBE_FASTBUILD=true.")
    var quick = false

    @OptionGroup var strict: StrictVersionOption

    @Flag(name: .shortAndLong, help: "Print every step in detail.")
    var verbose = false

    /// The reporter of `command` on this workspace, as `output` asks.
    func reporter(_ command: String, _ output: OutputOptions, _ environment: [String: String]) -> Reporter {
        output.reporter(
            command: command, workspace: location.workspace, verbose: verbose, environment: environment)
    }

    /// How the steps run: jobs, sandbox, and a shared Go build cache from `KBUILD_GOCACHE` (CI, tests).
    func releaseOptions(
        _ environment: [String: String], sandbox: SandboxMode = .auto, output: OutputOptions
    ) -> ReleaseOptions {
        var options = ReleaseOptions(jobs: parallel.count, sandbox: sandbox, goCache: environment["KBUILD_GOCACHE"])
        // Nothing shows progress: Go is not asked for its plan nor to name packages.
        options.reportsProgress = output.progress != .none
        return options
    }

    /// Runs `body` with the config, version and plan of the workspace, read with `environment` (the process's,
    /// read once by the caller); `digestSources` for commands whose steps key their outputs on the sources.
    /// Whatever loading started is stopped and awaited before this returns or throws (`LoadedWorkspace.using`).
    func withLoaded<T>(
        _ environment: [String: String], digestSources: Bool = false,
        warn: @escaping @Sendable (String) -> Void = warning, _ body: (LoadedWorkspace) async throws -> T
    ) async throws -> T {
        try await ReleaseLoader.load(
            workspace: location.workspace, configPath: location.configFile, environment: environment,
            hostOnly: quick, strictVersion: strict.strictVersion, digestSources: digestSources, warn: warn
        ).using(body)
    }
}

/// `--jobs N`: how much runs at once, for every command that works in parallel.
struct JobsOption: ParsableArguments {
    @Option(
        name: .customLong("jobs"),
        help: ArgumentHelp(
            "How many builds, images and tarballs are made or checked at once (default: the number of cores).",
            valueName: "n"))
    var jobs: Int?

    /// `--jobs`, else the cores of this machine.
    var count: Int { jobs ?? WorkspaceOptions.cores }

    func validate() throws {
        if let jobs, jobs < 1 {
            throw ValidationError(
                "--jobs must be at least 1, got \(jobs); allowed: a whole number of concurrent jobs, 1 or more")
        }
    }
}

/// `--shard I/N`: one slice of the plan (see `kbuild release --help`).
struct ShardOption: ParsableArguments {
    // Unconditional: `--shard -1/2` is a bad value (said so, exit 64), not a missing one.
    @Option(
        name: .customLong("shard"), parsing: .unconditional,
        help: ArgumentHelp(
            "Only shard I of N of the builds and images: whole platforms where possible, the same slice on every machine.",
            valueName: "I/N"))
    var shard: String?

    /// A bad value is a usage error (exit 64), found before any work starts.
    func validate() throws {
        do {
            _ = try spec()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The parsed spec, if given.
    func spec() throws(ReleaseError) -> ShardSpec? {
        try shard.map { (text) throws(ReleaseError) in try ShardSpec(parsing: text) }
    }
}

/// Prints `warning: …` on stderr, one line: what the user should know but need not stop for.
@Sendable func warning(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

/// `--strict-version`: a shallow clone without tags is an error, not a warning.
struct StrictVersionOption: ParsableArguments {
    @Flag(
        name: .customLong("strict-version"),
        help: "Refuse a shallow clone without v* tags instead of warning (CI=true does the same).")
    var strictVersion = false
}

/// The sandbox option of commands that build.
struct SandboxOption: ParsableArguments {
    @Option(
        name: .customLong("sandbox"),
        help: ArgumentHelp(
            "Run compilers without network: auto (when the kernel allows, `unshare -n`), off, or required.",
            valueName: "auto|off|required"))
    var sandbox: SandboxMode = .auto
}

extension SandboxMode: ExpressibleByArgument {}
