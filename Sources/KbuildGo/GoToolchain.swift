import Foundation
import KbuildCore

/// A located Go toolchain: where it is, which version, which GOROOT.
public struct GoToolchain: Sendable, Hashable {
    /// Absolute path of the `go` executable.
    public var executable: String
    /// The version without the `go` prefix, e.g. `1.19.8`.
    public var version: String
    /// `go env GOROOT`.
    public var goroot: String

    public init(executable: String, version: String, goroot: String) {
        self.executable = executable
        self.version = version
        self.goroot = goroot
    }

    /// Finds `go` (`$GO`, else on `environment`'s PATH) and asks it for its version and GOROOT.
    public static func locate(runner: any ProcessRunner, environment: [String: String]) async throws -> GoToolchain {
        let executable = try find(environment: environment)
        let probe = queryEnvironment(for: executable)
        // Two independent questions: asked at once.
        async let versionQuery = query(
            runner, Command(executable, ["version"], environment: probe, workingDirectory: "/"))
        async let gorootQuery = query(
            runner, Command(executable, ["env", "GOROOT"], environment: probe, workingDirectory: "/"))
        let versionOutput = try await versionQuery
        guard let version = parseVersion(versionOutput) else {
            throw GoBuildError.toolchainFailed(
                command: "\(executable) version",
                detail: "unexpected output '\(versionOutput)'; expected 'go version go1.N.M os/arch'")
        }
        let goroot = try await gorootQuery
        guard goroot.hasPrefix("/") else {
            throw GoBuildError.toolchainFailed(
                command: "\(executable) env GOROOT", detail: "unexpected output '\(goroot)'")
        }
        return GoToolchain(executable: executable, version: version, goroot: goroot)
    }

    /// The platforms this toolchain can target (`go tool dist list`).
    public func distList(runner: any ProcessRunner) async throws -> Set<Platform> {
        try await Self.distList(executable: executable, runner: runner)
    }

    static func distList(executable: String, runner: any ProcessRunner) async throws -> Set<Platform> {
        let output = try await query(
            runner,
            Command(
                executable, ["tool", "dist", "list"], environment: queryEnvironment(for: executable),
                workingDirectory: "/"))
        var platforms = Set<Platform>()
        for line in output.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard let platform = Platform(text) else {
                throw GoBuildError.toolchainFailed(
                    command: "\(executable) tool dist list", detail: "unexpected line '\(text)'")
            }
            platforms.insert(platform)
        }
        return platforms
    }

    /// Throws unless this toolchain is `required`: `1.19` accepts any 1.19.x, `1.19.8` only itself.
    public func requireVersion(_ required: String) throws {
        guard Self.version(version, matches: required) else {
            throw GoBuildError.versionMismatch(required: required, found: version, executable: executable)
        }
    }

    /// `1.19` matches `1.19`, `1.19.0`, `1.19.8`; `1.19.8` matches only `1.19.8`. A leading `go` is ignored.
    public static func version(_ version: String, matches required: String) -> Bool {
        let want = required.hasPrefix("go") ? String(required.dropFirst(2)) : required
        return version == want || version.hasPrefix(want + ".")
    }

    /// `go version go1.19.8 linux/amd64` → `1.19.8`; `go version devel go1.23-abc …` → `1.23-abc`.
    public static func parseVersion(_ output: String) -> String? {
        let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard words.count >= 3, words[0] == "go", words[1] == "version" else { return nil }
        guard let word = words.dropFirst(2).first(where: { $0.hasPrefix("go1") || $0.hasPrefix("go2") }) else {
            return nil
        }
        return String(word.dropFirst(2))
    }

    /// `$GO` if set, else the first executable `go` on PATH.
    static func find(environment: [String: String]) throws -> String {
        if let explicit = environment["GO"], !explicit.isEmpty {
            guard explicit.contains("/"), isExecutableFile(explicit) else {
                throw GoBuildError.goNotExecutable(path: explicit)
            }
            return explicit.hasPrefix("/") ? explicit : FileManager.default.currentDirectoryPath + "/" + explicit
        }
        let path = environment["PATH"] ?? ""
        guard let found = ExecutableLookup.find("go", path: path) else {
            throw GoBuildError.goNotFound(searchedPath: path)
        }
        return found
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }

    /// A minimal environment for asking go about itself: no caller GOFLAGS/GOROOT/go.env can sway it.
    static func queryEnvironment(for executable: String) -> Command.Environment {
        .exact(["PATH": Paths.parent(of: executable) + ":/usr/bin:/bin", "GOENV": "off", "LANG": "C"])
    }

    /// Runs `command` and returns its trimmed stdout; a failure is `toolchainFailed` with the tail of its output.
    public static func query(_ runner: any ProcessRunner, _ command: Command) async throws -> String {
        let result: CommandResult
        do {
            result = try await runner.run(command)
        } catch {
            throw GoBuildError.toolchainFailed(command: command.description, detail: "\(error)")
        }
        guard result.succeeded else {
            let detail = SubprocessRunner.tail(result.stderr.isEmpty ? result.stdout : result.stderr)
            throw GoBuildError.toolchainFailed(
                command: command.description, detail: detail.isEmpty ? "exit status \(result.status)" : detail)
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
