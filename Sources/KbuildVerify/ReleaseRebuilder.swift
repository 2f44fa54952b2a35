import Foundation
import KbuildArchive
import KbuildCore
import KbuildProof

/// `kbuild verify --rebuild`: releases the release commit again in a fresh clone, under another TZ, umask,
/// locale and HOME with an empty kbuild cache, and compares the result byte for byte with the release.
public struct ReleaseRebuilder: Sendable {
    /// The git repository the release was made from.
    public var workspace: String
    /// The release directory to reproduce (`_output/release-tars`).
    public var directory: String
    /// The kbuild executable to run (the running one).
    public var kbuild: String
    /// The caller's environment; the rebuild changes TZ, locale, HOME and umask on top.
    public var environment: [String: String]
    public var runner: any ProcessRunner

    public init(
        workspace: String, directory: String, kbuild: String, environment: [String: String],
        runner: any ProcessRunner = SubprocessRunner()
    ) {
        self.workspace = workspace
        self.directory = directory
        self.kbuild = kbuild
        self.environment = environment
        self.runner = runner
    }

    /// What the rebuild ran with, for the report.
    public struct Conditions: Sendable, Codable {
        public var commit: String
        public var clone: String
        public var environment: [String: String]
        public var umask: String
    }

    /// Rebuilds and compares; the report is empty when the rebuild is byte-identical.
    public func rebuild(progress: @Sendable (String) -> Void = { _ in }) async throws(VerifyError) -> (
        DiffReport, Conditions
    ) {
        let files = try ReleaseFiles(directory: directory)
        let src = "\(files.project ?? "kubernetes")-src.tar.gz"
        guard let file = try? files.tree.open(src), let recorded = SourceVerifier.recorded(in: file.reopenPath),
            let commit = recorded.commit, !commit.isEmpty
        else {
            throw .rebuild(
                culprit: files.path(src),
                reason: "missing or without KUBE_GIT_COMMIT in .kube-git-version; --rebuild needs the release commit")
        }
        // The release's inputs that are not in the commit: its source date (every tar entry carries it),
        // its platforms and its registry (artifacts.json).
        let sourceDate = recorded.entries.first?.mtime ?? 0
        var overrides = Self.releaseEnvironment(files)
        overrides["SOURCE_DATE_EPOCH"] = String(sourceDate)

        let repository = try? await runner.run(Command("git", ["-C", workspace, "rev-parse", "--git-dir"]))
        guard repository?.succeeded == true else {
            throw .rebuild(
                culprit: workspace,
                reason: "not a git repository; --rebuild needs the repository the release was made from (-C DIR)")
        }
        let temporary: String
        do { temporary = try Scratch.make("kbuild-rebuild") } catch {
            throw .rebuild(culprit: NSTemporaryDirectory(), reason: "cannot create a temporary directory")
        }
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let clone = temporary + "/clone"
        let home = temporary + "/home"
        try? FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        progress("cloning \(workspace) at \(commit.prefix(14)) into \(clone)")
        try await git(["clone", "-q", "--no-checkout", workspace, clone], culprit: workspace)
        try await git(["-C", clone, "checkout", "-q", "--detach", commit], culprit: commit)

        // Different from the caller's conditions on purpose: any dependence on them shows as a difference.
        let tz = environment["TZ"] == "Pacific/Chatham" ? "America/St_Johns" : "Pacific/Chatham"
        let locale = environment["LC_ALL"] == "C.UTF-8" ? "C" : "C.UTF-8"
        let current = umask(0o022)
        umask(current)
        let mask = current == 0o077 ? "022" : "077"
        overrides.merge(["TZ": tz, "LANG": locale, "LC_ALL": locale, "HOME": home]) { $1 }
        var env: [String: String?] = overrides.mapValues { $0 }
        // The caller's own KUBE_* must not change the rebuild: only what the release recorded counts.
        for variable in environment.keys where variable.hasPrefix("KUBE_") && overrides[variable] == nil {
            env[variable] = .some(nil)
        }
        for variable in ["KUBE_FASTBUILD", "KUBE_GIT_VERSION_FILE"] where overrides[variable] == nil {
            env[variable] = .some(nil)
        }
        progress("releasing the clone (TZ=\(tz), LC_ALL=\(locale), umask \(mask), HOME=\(home))")
        let result: CommandResult
        do {
            result = try await runner.run(
                Command(
                    "/bin/sh", ["-c", "umask \(mask) && exec \"$0\" \"$@\"", kbuild, "release", "-C", clone],
                    environment: .inherit(overrides: env)))
        } catch {
            throw .rebuild(culprit: kbuild, reason: "cannot run: \(error)")
        }
        guard result.succeeded else {
            let last = result.stderr.split(separator: "\n").last.map(String.init) ?? "exit status \(result.status)"
            throw .rebuild(culprit: clone, reason: "the release of commit \(commit.prefix(14)) failed: \(last)")
        }
        progress("comparing \(directory) with the rebuild")
        var differ = ReleaseDiffer(runner: runner, environment: environment)
        differ.limit = 200
        var report = try await differ.compare(directory, clone + "/_output/release-tars")
        report.b = "rebuild of \(commit.prefix(14))"
        return (report, Conditions(commit: commit, clone: clone, environment: overrides, umask: mask))
    }

    private func git(_ arguments: [String], culprit: String) async throws(VerifyError) {
        let verb = arguments.first == "-C" ? arguments.dropFirst(2).first ?? "" : arguments.first ?? ""
        let result: CommandResult
        do {
            result = try await runner.run(Command("git", arguments))
        } catch {
            throw .rebuild(culprit: culprit, reason: "git cannot run: \(error)")
        }
        guard result.succeeded else {
            let last = result.stderr.split(separator: "\n").last.map(String.init) ?? "exit status \(result.status)"
            throw .rebuild(culprit: culprit, reason: "git \(verb) failed: \(last)")
        }
    }

    /// The KUBE_* variables the release in `directory` was made with (the provenance names them; without
    /// one, its platforms and registry are read back from artifacts.json): its plan is the plan of these.
    public static func releaseEnvironment(directory: String) -> [String: String] {
        (try? ReleaseFiles(directory: directory)).map(releaseEnvironment) ?? [:]
    }

    static func releaseEnvironment(_ files: ReleaseFiles) -> [String: String] {
        let artifacts = files.artifacts().list
        let platforms = Set(
            artifacts.filter { $0.kind != .image }.compactMap { artifact in
                artifact.os.flatMap { os in artifact.arch.map { "\(os)/\($0)" } }
            }
        ).sorted()
        var overrides: [String: String] = [:]
        let recordedEnvironment = Self.recordedEnvironment(files)
        if let recordedEnvironment {
            // The provenance names the KUBE_* variables the release was made with: replay exactly those.
            overrides.merge(recordedEnvironment) { $1 }
        } else if !platforms.isEmpty {
            overrides["KUBE_BUILD_PLATFORMS"] = platforms.joined(separator: " ")
        }
        // Without a provenance, the registry is read back from the image names.
        if recordedEnvironment == nil, let reference = artifacts.first(where: { $0.image != nil })?.image,
            let repository = reference.split(separator: ":").dropLast().joined(separator: ":").split(separator: "/")
                .dropLast().joined(separator: "/") as String?,
            !repository.isEmpty
        {
            overrides["KUBE_DOCKER_REGISTRY"] = repository
        }
        return overrides
    }

    /// `externalParameters.environment` of the release's provenance: the KUBE_* variables it was made with.
    static func recordedEnvironment(_ files: ReleaseFiles) -> [String: String]? {
        guard let project = files.project,
            case .success(let read) = SupplyChainVerifier.readStatement(files.contents("\(project).intoto.jsonl")),
            let parameters = read.statement["predicate"]?["buildDefinition"]?["externalParameters"]
        else { return nil }
        return (parameters["environment"]?.object ?? [:]).compactMapValues(\.string)
    }
}
