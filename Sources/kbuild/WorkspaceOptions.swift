import ArgumentParser
import Foundation
import KbuildCore
import KbuildGo
import KbuildRelease

/// Options every workspace command shares.
struct WorkspaceOptions: ParsableArguments {
    @Option(
        name: [.customShort("C"), .customLong("directory")],
        help: ArgumentHelp("The Go workspace to work on.", valueName: "dir"))
    var directory: String = "."

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("The release config (default: <dir>/release/kbuild.yaml).", valueName: "file"))
    var config: String?

    @Option(
        name: .customLong("jobs"),
        help: ArgumentHelp("How many builds, images and tarballs run at once (default: the number of cores).", valueName: "n"))
    var jobs: Int?

    @Flag(
        name: .customLong("quick"),
        help: "Host platform only; the same as KUBE_FASTBUILD=true.")
    var quick = false

    @Flag(
        name: .customLong("strict-version"),
        help: "Refuse a shallow clone without v* tags instead of warning (CI=true does the same).")
    var strictVersion = false

    @Flag(name: .shortAndLong, help: "Print every step in detail.")
    var verbose = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs); allowed: a whole number of concurrent jobs, 1 or more") }
    }

    /// How the steps run: jobs, sandbox, and a shared Go build cache from `KBUILD_GOCACHE` (CI, tests).
    func releaseOptions(sandbox: SandboxMode = .auto) -> ReleaseOptions {
        ReleaseOptions(
            jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, sandbox: sandbox, goCache: ProcessInfo.processInfo.environment["KBUILD_GOCACHE"])
    }

    func load() async throws -> LoadedWorkspace {
        try await ReleaseLoader.load(
            workspace: directory, configPath: config.map { ReleaseLoader.absoluteWorkspace($0) },
            environment: ProcessInfo.processInfo.environment, quick: quick, strictVersion: strictVersion,
            warn: warning)
    }
}

/// Prints `warning: …` on stderr, one line: what the user should know but need not stop for.
@Sendable func warning(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
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

/// Prints progress: one line per finished item, and a summary per step.
/// On a terminal lines carry a counter; in CI they are plain.
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private var done = 0
    private let verbose: Bool
    private let terminal = isatty(STDOUT_FILENO) == 1

    private let plan: ReleasePlan

    init(plan: ReleasePlan, verbose: Bool) {
        self.total = plan.builds.count
        self.plan = plan
        self.verbose = verbose
    }

    func handle(_ event: ReleaseEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .stepStarted(let step):
            if verbose { say("==> \(step)") }
        case .stepFinished(let step, let seconds, let summary):
            say("\(step): \(plan.relative(summary)) (\(seconds.formatted1)s)")
        case .build(.finished(let target, let seconds)):
            done += 1
            let counter = terminal ? "[\(done)/\(total)] " : ""
            say("\(counter)built \(target.platform) \(target.binary) (\(seconds.formatted1)s)")
        case .build(.sandbox(let status)):
            if verbose { say("sandbox: \(status)") }
        case .build(.started(let target)):
            if verbose { say("building \(target.platform) \(target.binary)") }
        case .buildReused(let target):
            done += 1
            if verbose { say("up to date: \(target.platform) \(target.binary)") }
        case .image(let image, let reused):
            if !reused || verbose {
                say("image \(image.repoTags.first ?? image.tag)\(reused ? " (up to date)" : "") -> \(plan.relative(image.tarball))")
            }
        case .packageReused:
            say("package: nothing changed since the last release; release-tars stand as they are")
        case .tarball(let name, let size):
            say("packed \(name) (\((Double(size) / 1_000_000).formatted1) MB)")
        }
    }

    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

extension Double {
    /// One decimal, C locale.
    fileprivate var formatted1: String { String(format: "%.1f", self) }
}
