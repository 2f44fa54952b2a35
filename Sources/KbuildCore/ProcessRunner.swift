import Foundation
import Subprocess
import Synchronization

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// One external command: what to run, with which arguments, environment and directory.
public struct Command: Sendable, Hashable, CustomStringConvertible {
    /// How the child's environment is formed.
    public enum Environment: Sendable, Hashable {
        /// The caller's environment, with these entries replaced (nil removes one).
        case inherit(overrides: [String: String?] = [:])
        /// Exactly these variables and nothing else (hermetic builds).
        case exact([String: String])
    }

    public var executable: String
    public var arguments: [String]
    public var environment: Environment
    public var workingDirectory: String?
    /// Bytes written to the child's standard input, if any.
    public var input: String?

    public init(
        _ executable: String, _ arguments: [String] = [], environment: Environment = .inherit(),
        workingDirectory: String? = nil, input: String? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.input = input
    }

    /// The command as a shell-like line, for error messages.
    public var description: String {
        ([executable] + arguments).map { arg in
            arg.isEmpty || arg.contains(where: { " \"'$\\".contains($0) }) ? "'\(arg)'" : arg
        }.joined(separator: " ")
    }
}

/// What a finished command produced. A nonzero exit is a result here, not an error.
public struct CommandResult: Sendable {
    public var status: Int32
    /// True when the process was killed by a signal (`status` is then the signal number).
    public var signaled: Bool
    public var stdout: String
    public var stderr: String

    public init(status: Int32, signaled: Bool = false, stdout: String, stderr: String) {
        self.status = status
        self.signaled = signaled
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { !signaled && status == 0 }
}

/// Failures of running external commands.
public enum CommandError: Error, CustomStringConvertible, Equatable {
    /// The executable could not be found or started.
    case launchFailed(command: String, reason: String)
    /// The command ran and failed; carries its exit status and the tail of its stderr.
    case failed(command: String, status: Int32, signaled: Bool, stderrTail: String)

    public var description: String {
        switch self {
        case .launchFailed(let command, let reason):
            return "cannot run `\(command)`: \(reason)"
        case .failed(let command, let status, let signaled, let tail):
            let how = signaled ? "was killed by signal \(status)" : "exited with status \(status)"
            let detail = tail.isEmpty ? "" : ": \(tail)"
            return "`\(command)` \(how)\(detail)"
        }
    }
}

/// Runs external commands. Planning code never spawns processes; only steps hold a runner.
public protocol ProcessRunner: Sendable {
    func run(_ command: Command) async throws -> CommandResult
    /// Runs `command`, handing each line of its stderr to `errorLine` as it is written (for progress);
    /// the result's `stderr` is its tail. Runners that cannot stream hand the lines over at the end.
    func run(_ command: Command, errorLine: @escaping @Sendable (Substring) -> Void) async throws -> CommandResult
}

extension ProcessRunner {
    public func run(_ command: Command, errorLine: @escaping @Sendable (Substring) -> Void) async throws
        -> CommandResult
    {
        let result = try await run(command)
        for line in result.stderr.split(separator: "\n") { errorLine(line) }
        return result
    }

    /// Runs `command` and throws `CommandError.failed` unless it exits 0.
    @discardableResult
    public func check(_ command: Command) async throws -> CommandResult {
        let result = try await run(command)
        guard result.succeeded else {
            throw CommandError.failed(
                command: command.description, status: result.status, signaled: result.signaled,
                stderrTail: Self.tail(result.stderr.isEmpty ? result.stdout : result.stderr))
        }
        return result
    }

    /// The last lines of a command's output, enough to show what went wrong on one screen.
    public static func tail(_ text: String, lines: Int = 20) -> String {
        let all = text.split(separator: "\n", omittingEmptySubsequences: true)
        return all.suffix(lines).joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Command {
    /// The PATH the child will search: its own when given, else the caller's.
    var searchPath: String {
        switch environment {
        case .exact(let variables): return variables["PATH"] ?? ""
        case .inherit(let overrides):
            if let override = overrides["PATH"] { return override ?? "" }
            return ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        }
    }
}

/// Finds executables on a PATH, remembering what it found for the life of the process.
public enum ExecutableLookup {
    private static let cache = Mutex<[String: String]>([:])

    /// The first executable regular file `name` in an absolute directory of `path`. Relative entries
    /// (`.`, an empty one) are skipped: a release build never runs what happens to lie in the current directory.
    public static func find(_ name: String, path: String) -> String? {
        let key = name + "\0" + path
        if let hit = cache.withLock({ $0[key] }) { return hit }
        for directory in path.split(separator: ":", omittingEmptySubsequences: true) where directory.hasPrefix("/") {
            let candidate = directory + "/" + name
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                cache.withLock { $0[key] = candidate }
                return candidate
            }
        }
        return nil
    }
}

/// The real runner, on swift-subprocess.
public struct SubprocessRunner: ProcessRunner {
    /// Upper bound of collected stdout/stderr per command.
    public var outputLimit: Int

    public init(outputLimit: Int = 64 << 20) {
        self.outputLimit = outputLimit
    }

    public func run(_ command: Command) async throws -> CommandResult {
        let (executable, environment, directory) = Self.spawning(command)
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(command.arguments), environment: environment,
                workingDirectory: directory, input: .string(command.input ?? ""),
                // Bytes, decoded below: Subprocess's own string decoding is the slowest part of reading a
                // 20,000-path `git ls-files` (measured); the standard library's UTF-8 decoder is not.
                output: .bytes(limit: outputLimit), error: .bytes(limit: outputLimit))
            return Self.result(
                result.terminationStatus, stdout: result.standardOutput,
                stderr: String(decoding: result.standardError, as: UTF8.self))
        } catch let error as SubprocessError {
            throw CommandError.launchFailed(command: command.description, reason: "\(error)")
        }
    }

    public func run(_ command: Command, errorLine: @escaping @Sendable (Substring) -> Void) async throws
        -> CommandResult
    {
        let (executable, environment, directory) = Self.spawning(command)
        let limit = outputLimit
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(command.arguments), environment: environment,
                workingDirectory: directory, input: .string(command.input ?? ""),
                output: .bytes(limit: outputLimit), error: .sequence
            ) { execution in
                var lines = LineSplitter(keep: limit)
                for try await buffer in execution.standardError {
                    buffer.withUnsafeBytes { lines.append($0, errorLine) }
                }
                return lines.finish(errorLine)
            }
            return Self.result(result.terminationStatus, stdout: result.standardOutput, stderr: result.closureResult)
        } catch let error as SubprocessError {
            throw CommandError.launchFailed(command: command.description, reason: "\(error)")
        }
    }

    /// The executable, environment and directory swift-subprocess is given for `command`.
    private static func spawning(_ command: Command) -> (Executable, Subprocess.Environment, FilePath?) {
        // A bare name is looked up on PATH here, once: left to swift-subprocess, every PATH entry before
        // the right one costs a fork (eight for `git` on a typical PATH), which adds up per command.
        let executable: Executable
        if command.executable.contains("/") {
            executable = .path(FilePath(command.executable))
        } else if let found = ExecutableLookup.find(command.executable, path: command.searchPath) {
            executable = .path(FilePath(found))
        } else {
            executable = .name(command.executable)
        }
        let environment: Subprocess.Environment
        switch command.environment {
        case .inherit(let overrides):
            var updates: [Subprocess.Environment.Key: String?] = [:]
            for (key, value) in overrides { updates[Subprocess.Environment.Key(stringLiteral: key)] = value }
            environment = .inherit.updating(updates)
        case .exact(let variables):
            var all: [Subprocess.Environment.Key: String] = [:]
            for (key, value) in variables { all[Subprocess.Environment.Key(stringLiteral: key)] = value }
            environment = .custom(all)
        }
        return (executable, environment, command.workingDirectory.map { FilePath($0) })
    }

    private static func result(_ termination: TerminationStatus, stdout: [UInt8], stderr: String) -> CommandResult {
        let (status, signaled): (Int32, Bool)
        switch termination {
        case .exited(let code): (status, signaled) = (Int32(code), false)
        case .signaled(let code): (status, signaled) = (Int32(code), true)
        }
        return CommandResult(
            status: status, signaled: signaled, stdout: String(decoding: stdout, as: UTF8.self), stderr: stderr)
    }
}

/// Cuts a byte stream into lines as it arrives, keeping the last `keep` bytes of it for the result.
struct LineSplitter {
    let keep: Int
    private var partial: [UInt8] = []
    private var tail: [UInt8] = []

    init(keep: Int) { self.keep = keep }

    mutating func append(_ bytes: UnsafeRawBufferPointer, _ line: (Substring) -> Void) {
        tail.append(contentsOf: bytes)
        if tail.count > 2 * keep { tail.removeFirst(tail.count - keep) }
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                line(Substring(String(decoding: partial, as: UTF8.self)))
                partial.removeAll(keepingCapacity: true)
            } else if partial.count < 64 << 10 {
                // A line longer than that is not one progress reads; the rest of it is dropped.
                partial.append(byte)
            }
        }
    }

    /// The last unterminated line, then the kept tail as text.
    mutating func finish(_ line: (Substring) -> Void) -> String {
        if !partial.isEmpty { line(Substring(String(decoding: partial, as: UTF8.self))) }
        return String(decoding: tail.suffix(keep), as: UTF8.self)
    }
}
