import Foundation
import KbuildCore
import Synchronization

/// Builds a matrix of Go binaries hermetically, in parallel, and renames each into place when complete.
public struct GoBuilder: Sendable {
    public var toolchain: GoToolchain
    public var settings: GoBuildSettings
    public var runner: any ProcessRunner

    public init(toolchain: GoToolchain, settings: GoBuildSettings, runner: any ProcessRunner = SubprocessRunner()) {
        self.toolchain = toolchain
        self.settings = settings
        self.runner = runner
    }

    /// Builds every target; the first failure cancels the rest and is thrown. Outputs appear only complete.
    public func build(
        _ targets: [GoBuildTarget], progress: @escaping @Sendable (GoBuildEvent) -> Void
    ) async throws -> GoBuildReport {
        let start = ContinuousClock.now
        try validate(targets)
        try requireCompilers(targets)
        if let required = settings.requiredGoVersion { try toolchain.requireVersion(required) }
        let sandbox = try await resolveSandbox()
        progress(.sandbox(sandbox.status))
        try prepareDirectories(targets)

        let groups = Self.groups(targets, combine: settings.groupPackages)
        let perPlatform = Dictionary(grouping: groups, by: \.platform).mapValues(\.count)
        _ = try await concurrentMap(groups, limit: max(settings.jobs, 1)) { group in
            // A platform split over several `go build`s (cgo and static, say) names each by its binaries.
            let subject =
                perPlatform[group.platform, default: 1] > 1
                ? "\(group.platform) (\(group.targets.map(\.binary).joined(separator: ", ")))"
                : group.platform.description
            let counter = CompileCounter(subject: subject, binaries: group.targets.map(\.binary), report: progress)
            try await self.build(group, wrapper: sandbox.wrapper, counter: counter, progress: progress)
        }
        let elapsed = ContinuousClock.now - start
        return GoBuildReport(
            sandbox: sandbox.status, goInvocations: groups.count, seconds: Self.seconds(elapsed))
    }

    // MARK: - What each go process gets

    /// The complete environment of `go build` for `platform`: nothing of the caller's environment.
    public func environment(for platform: Platform, isStatic: Bool) -> [String: String] {
        let state = settings.goState
        var environment = [
            "PATH": "\(toolchain.goroot)/bin:/usr/bin:/bin",
            "HOME": "\(state)/home",
            "GOCACHE": settings.goCache ?? "\(state)/cache",
            "GOPATH": "\(state)/gopath",
            "GOMODCACHE": "\(state)/gopath/pkg/mod",
            "GOFLAGS": "-mod=\(settings.modMode.rawValue)",
            "GOPROXY": "off",
            "GOSUMDB": "off",
            "GOENV": "off",
            "GO111MODULE": "on",
            "TMPDIR": "\(state)/tmp",
            "LANG": "C",
            "GOOS": platform.os,
            "GOARCH": platform.arch,
            "CGO_ENABLED": isStatic ? "0" : "1",
        ]
        if let goarm = platform.goarm { environment["GOARM"] = goarm }
        if !isStatic {
            environment.merge(
                CgoToolchain.environment(
                    for: platform, configured: settings.cgo[platform] ?? [:], workspace: settings.workspace,
                    goState: state)
            ) { $1 }
        }
        return environment
    }

    /// Every cgo platform needs its C compilers before any build starts: one line naming the platform and
    /// the Debian package that provides the missing one.
    func requireCompilers(_ targets: [GoBuildTarget]) throws {
        for platform in Set(targets.filter { !$0.isStatic }.map(\.platform)).sorted() {
            let environment = environment(for: platform, isStatic: false)
            let binaries = targets.filter { !$0.isStatic && $0.platform == platform }.map(\.binary)
            guard let compiler = environment["CC"] else {
                throw GoBuildError.missingCompiler(
                    platform: platform, compiler: nil, package: nil, binaries: binaries)
            }
            if CgoToolchain.locate(compiler, path: environment["PATH"] ?? "") == nil {
                throw GoBuildError.missingCompiler(
                    platform: platform, compiler: compiler, package: CgoToolchain.debianPackage(of: compiler),
                    binaries: binaries)
            }
        }
    }

    /// `go` arguments building `packages` into `output` (a file, or a directory ending in `/`).
    public func buildArguments(output: String, packages: [String]) throws -> [String] {
        var arguments = ["build", "-o", output] + Self.compileFlags
        if !settings.tags.isEmpty { arguments += ["-tags", settings.tags.joined(separator: ",")] }
        arguments += ["-ldflags", try Self.ldflagsValue(settings.ldflags)]
        return arguments + packages
    }

    /// How every package is compiled: paths relative to modules (`-trimpath`, so the checkout's directory is in
    /// no binary), no VCS stamp (the version comes from `-X`), and no DWARF: `-s -w` drops it at link time,
    /// so compiling it (about a tenth of compile time) would be wasted.
    public static let compileFlags = ["-trimpath", "-buildvcs=false", "-gcflags=all=-dwarf=false"]

    /// `-s -w -buildid= <extra…>`, each extra word quoted the way Go's ldflags parser splits them.
    public static func ldflagsValue(_ extra: [String]) throws -> String {
        try (["-s", "-w", "-buildid="] + extra.map(quoteLdflag)).joined(separator: " ")
    }

    /// Go splits -ldflags on whitespace and honours a quote only at the start of a word.
    static func quoteLdflag(_ word: String) throws -> String {
        let needsQuotes =
            word.isEmpty || word.contains(where: { " \t\n\r".contains($0) }) || word.first == "'"
            || word.first == "\""
        guard needsQuotes else { return word }
        if !word.contains("'") { return "'\(word)'" }
        if !word.contains("\"") { return "\"\(word)\"" }
        throw GoBuildError.unquotableLdflag(word)
    }

    // MARK: - Sandbox

    /// Decides how compilers run: inside `unshare -n` (returns its path) or not, and why.
    public func resolveSandbox() async throws -> (wrapper: String?, status: SandboxStatus) {
        guard settings.sandbox != .off else { return (nil, .off) }
        let probe = await Self.probeNetworkSandbox(runner: runner)
        switch probe {
        case .success(let unshare):
            return (unshare, .networkNamespace)
        case .failure(let problem):
            if settings.sandbox == .required { throw GoBuildError.sandboxUnavailable(reason: problem.reason) }
            return (nil, .unavailable(problem.reason))
        }
    }

    struct SandboxProblem: Error { var reason: String }

    /// Runs `unshare -n true` once; success means compilers can run without network.
    static func probeNetworkSandbox(runner: any ProcessRunner) async -> Result<String, SandboxProblem> {
        let candidates = ["/usr/bin/unshare", "/bin/unshare", "/usr/sbin/unshare", "/sbin/unshare"]
        guard let unshare = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .failure(SandboxProblem(reason: "unshare not found in /usr/bin or /bin (util-linux)"))
        }
        let command = Command(unshare, ["-n", "true"], environment: .exact(["PATH": "/usr/bin:/bin", "LANG": "C"]))
        do {
            let result = try await runner.run(command)
            if result.succeeded { return .success(unshare) }
            let detail = SubprocessRunner.tail(result.stderr, lines: 1)
            return .failure(
                SandboxProblem(reason: detail.isEmpty ? "`\(command)` exited with status \(result.status)" : detail))
        } catch {
            return .failure(SandboxProblem(reason: "\(error)"))
        }
    }

    // MARK: - Planning the invocations

    /// Targets that share one `go build`: same platform, cgo setting and output directory.
    struct Group: Sendable {
        var targets: [GoBuildTarget]
        var platform: Platform { targets[0].platform }
        var isStatic: Bool { targets[0].isStatic }
        var directory: String { Paths.parent(of: targets[0].output) }
    }

    /// One group per platform (and cgo setting and directory), in first-seen order; targets whose
    /// output name Go would not derive unambiguously from the package build alone.
    static func groups(_ targets: [GoBuildTarget], combine: Bool) -> [Group] {
        guard combine else { return targets.map { Group(targets: [$0]) } }
        struct Key: Hashable {
            var platform: Platform
            var isStatic: Bool
            var directory: String
        }
        var order: [Key] = []
        var byKey: [Key: [GoBuildTarget]] = [:]
        for target in targets {
            let key = Key(
                platform: target.platform, isStatic: target.isStatic, directory: Paths.parent(of: target.output))
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(target)
        }
        var groups: [Group] = []
        for key in order {
            let members = byKey[key, default: []]
            var counts: [String: Int] = [:]
            for target in members { if let name = goOutputName(target.package) { counts[name, default: 0] += 1 } }
            var shared: [GoBuildTarget] = []
            for target in members {
                if let name = goOutputName(target.package), counts[name] == 1 {
                    shared.append(target)
                } else {
                    groups.append(Group(targets: [target]))
                }
            }
            if !shared.isEmpty { groups.append(Group(targets: shared)) }
        }
        return groups
    }

    /// True when `go build -o DIR/` names the binary of `package` by its last path element.
    public static func goOutputNameIsClear(_ package: String) -> Bool { goOutputName(package) != nil }

    /// The file name `go build -o DIR/` gives a main package: its last path element.
    /// Nil when that is not obvious (module root, `/vN` major-version suffix, patterns).
    static func goOutputName(_ package: String) -> String? {
        var path = Substring(package)
        while path.hasSuffix("/") { path = path.dropLast() }
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        if name.isEmpty || name == "." || name == ".." || package.contains("...") { return nil }
        if name.count >= 2, name.first == "v", name.dropFirst().allSatisfy(\.isNumber) { return nil }
        return name
    }

    // MARK: - Running

    private func build(
        _ group: Group, wrapper: String?, counter: CompileCounter,
        progress: @escaping @Sendable (GoBuildEvent) -> Void
    ) async throws {
        try Task.checkCancellation()
        let start = ContinuousClock.now
        for target in group.targets { progress(.started(target)) }
        // What Go will compile, asked beside the build: its answer takes a fraction of a second.
        async let planned: Void = counter.plan(
            settings.countsPackages ? await plannedCompiles(group, wrapper: wrapper) : nil)
        if group.targets.count == 1 {
            try await buildAlone(group.targets[0], wrapper: wrapper, keep: true, counter: counter)
        } else {
            try await buildTogether(group, wrapper: wrapper, counter: counter)
        }
        await planned
        counter.finish()
        let seconds = Self.seconds(ContinuousClock.now - start)
        for target in group.targets { progress(.finished(target, seconds: seconds)) }
    }

    /// How many packages `go build -n` (which consults Go's cache and runs nothing) would compile; nil
    /// when it cannot tell. `go build -v` names each package as it compiles it: together, progress.
    private func plannedCompiles(_ group: Group, wrapper: String?) async -> Int? {
        let output = group.targets.count == 1 ? group.targets[0].output : group.directory + "/"
        let count = Mutex(0)
        let result = try? await runGo(
            group.targets.map(\.package), output: output, group.platform, group.isStatic, wrapper, flag: "-n"
        ) { line in
            if line.split(separator: " ", maxSplits: 1).first?.hasSuffix("/compile") == true {
                count.withLock { $0 += 1 }
            }
        }
        guard let result, result.succeeded else { return nil }
        return count.withLock { $0 }
    }

    /// `go build -o <temp sibling>` then rename onto the output (or discard when `keep` is false).
    private func buildAlone(
        _ target: GoBuildTarget, wrapper: String?, keep: Bool, counter: CompileCounter? = nil
    ) async throws {
        let temporary = FileOutput.temporarySibling(of: target.output)
        defer { unlink(temporary) }
        let result = try await runGo(
            [target.package], output: temporary, target.platform, target.isStatic, wrapper, flag: "-v",
            errorLine: { counter?.line($0) })
        guard result.succeeded else { throw Self.failure(result, target) }
        try Self.requireExecutable(temporary, target)
        if keep { try Self.install(temporary, as: target.output) }
    }

    /// One `go build -o <temp dir>/ pkg…` for the group, then each binary renamed into place.
    private func buildTogether(_ group: Group, wrapper: String?, counter: CompileCounter) async throws {
        let directory = FileOutput.temporarySibling(of: group.directory + "/go-build")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        } catch {
            throw GoBuildError.outputFailed(path: directory, reason: Escaping.reason(of: error))
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await runGo(
            group.targets.map(\.package), output: directory + "/", group.platform, group.isStatic, wrapper,
            flag: "-v", errorLine: { counter.line($0) })
        guard result.succeeded else {
            // Go's text names packages, not our binaries: rebuild each alone (cached, quick) to name the culprit.
            for target in group.targets {
                try Task.checkCancellation()
                try await buildAlone(target, wrapper: wrapper, keep: false)
            }
            var summary = group.targets[0]
            summary.binary = group.targets.map(\.binary).joined(separator: ", ")
            summary.package = group.targets.map(\.package).joined(separator: " ")
            throw Self.failure(result, summary)
        }
        for target in group.targets {
            // Grouped targets all have an output name (see `groups`); one without is built alone.
            guard let name = Self.goOutputName(target.package) else {
                throw GoBuildError.notAMainPackage(
                    binary: target.binary, package: target.package, platform: target.platform)
            }
            let built = directory + "/" + name + target.platform.executableSuffix
            guard FileManager.default.fileExists(atPath: built) else {
                throw GoBuildError.notAMainPackage(
                    binary: target.binary, package: target.package, platform: target.platform)
            }
            try Self.requireExecutable(built, target)
            try Self.install(built, as: target.output)
        }
    }

    /// `flag` goes after `build`: `-v` (names packages as they compile, for progress; not part of any
    /// cache key, as it changes no byte) or `-n` (prints the plan, runs nothing).
    private func runGo(
        _ packages: [String], output: String, _ platform: Platform, _ isStatic: Bool, _ wrapper: String?,
        flag: String? = nil, errorLine: (@Sendable (Substring) -> Void)? = nil
    ) async throws -> CommandResult {
        var arguments = try buildArguments(output: output, packages: packages)
        if let flag, flag == "-n" || settings.countsPackages { arguments.insert(flag, at: 1) }
        let environment = Command.Environment.exact(environment(for: platform, isStatic: isStatic))
        let command =
            if let wrapper {
                Command(
                    wrapper, ["-n", toolchain.executable] + arguments, environment: environment,
                    workingDirectory: settings.workspace)
            } else {
                Command(toolchain.executable, arguments, environment: environment, workingDirectory: settings.workspace)
            }
        do {
            if let errorLine, settings.countsPackages { return try await runner.run(command, errorLine: errorLine) }
            return try await runner.run(command)
        } catch let error as CommandError {
            throw GoBuildError.toolchainFailed(command: command.description, detail: "\(error)")
        }
    }

    // MARK: - Outputs

    private func validate(_ targets: [GoBuildTarget]) throws {
        // Paths come absolute from the plan: resolving them here would read the current directory.
        for path in [settings.workspace, settings.goState] + targets.map(\.output) where !path.hasPrefix("/") {
            throw GoBuildError.relativePath(path)
        }
        _ = try Self.ldflagsValue(settings.ldflags)
        var byOutput: [String: [String]] = [:]
        for target in targets { byOutput[target.output, default: []].append("\(target.binary) (\(target.platform))") }
        if let (path, binaries) = byOutput.first(where: { $0.value.count > 1 }) {
            throw GoBuildError.duplicateOutput(path: path, binaries: binaries)
        }
    }

    private func prepareDirectories(_ targets: [GoBuildTarget]) throws {
        let state = settings.goState
        var directories = [
            "\(state)/home", "\(state)/gopath/pkg/mod", "\(state)/tmp", settings.goCache ?? "\(state)/cache",
        ]
        directories += Set(targets.map { Paths.parent(of: $0.output) }).sorted()
        for directory in directories {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw GoBuildError.outputFailed(path: directory, reason: Escaping.reason(of: error))
            }
        }
    }

    /// Go writes an `!<arch>` package archive, not an executable, for a non-main package.
    private static func requireExecutable(_ path: String, _ target: GoBuildTarget) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw GoBuildError.outputFailed(path: path, reason: "go build produced no readable file")
        }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 8)) ?? Data()
        if magic == Data("!<arch>\n".utf8) {
            throw GoBuildError.notAMainPackage(
                binary: target.binary, package: target.package, platform: target.platform)
        }
    }

    /// Fixed mode (independent of umask), then an atomic rename onto the final name.
    private static func install(_ built: String, as output: String) throws {
        guard chmod(built, 0o755) == 0 else {
            throw GoBuildError.outputFailed(path: output, reason: "chmod: \(String(cString: strerror(errno)))")
        }
        guard rename(built, output) == 0 else {
            throw GoBuildError.outputFailed(
                path: output, reason: "rename into place: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - Errors

    private static let notFoundMarkers = [
        "directory not found", "cannot find module providing package", "is not in GOROOT",
        "no required module provides package", "cannot find package", "matched no packages", "no Go files in",
        "malformed import path", "is not in std",
    ]

    static func failure(_ result: CommandResult, _ target: GoBuildTarget) -> GoBuildError {
        let text = goErrorText(result)
        if text.contains("no main packages to build") {
            return .notAMainPackage(binary: target.binary, package: target.package, platform: target.platform)
        }
        if notFoundMarkers.contains(where: text.contains) {
            return .packageNotFound(
                binary: target.binary, package: target.package, platform: target.platform, goError: text)
        }
        let detail =
            text.isEmpty
            ? (result.signaled ? "killed by signal \(result.status)" : "exit status \(result.status)") : text
        return .buildFailed(binary: target.binary, package: target.package, platform: target.platform, goError: detail)
    }

    /// The tail of Go's stderr without its module-lookup chatter.
    static func goErrorText(_ result: CommandResult) -> String {
        var lines: [Substring] = []
        for line in (result.stderr.isEmpty ? result.stdout : result.stderr).split(separator: "\n") {
            if line.hasPrefix("go: finding module for package") || line == lines.last { continue }
            if CompileCounter.isPackageLine(line) { continue }
            lines.append(line)
        }
        return SubprocessRunner.tail(lines.joined(separator: "\n"))
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
