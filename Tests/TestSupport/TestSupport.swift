import Foundation
import KbuildCore

/// A fresh directory under the system temp dir, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "kbuild-test") throws {
        let template = NSTemporaryDirectory() + "/\(label).XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else {
            throw FileOutputError(path: template, operation: "mkdtemp", errno: errno)
        }
        // Resolve symlinks so paths compare equal to what tools print.
        path = URL(fileURLWithPath: String(cString: made)).resolvingSymlinksInPath().path
    }

    /// `path/relative`.
    public func appending(_ relative: String) -> String { path + "/" + relative }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs an outside tool and returns its result; `check` throws on a nonzero exit.
public enum Tool {
    public static let runner = SubprocessRunner()

    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], in directory: String? = nil,
        environment: [String: String?] = [:], input: String? = nil
    ) async throws -> CommandResult {
        try await runner.run(
            Command(
                executable, arguments, environment: .inherit(overrides: environment),
                workingDirectory: directory, input: input))
    }

    @discardableResult
    public static func check(
        _ executable: String, _ arguments: [String], in directory: String? = nil,
        environment: [String: String?] = [:], input: String? = nil
    ) async throws -> String {
        try await runner.check(
            Command(
                executable, arguments, environment: .inherit(overrides: environment),
                workingDirectory: directory, input: input)
        ).stdout
    }

    /// True when `name` is on PATH.
    public static func available(_ name: String) -> Bool {
        ExecutableLookup.find(name, path: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") != nil
    }
}

/// A real git repository in a temp dir, with a fixed identity and dates so commits are reproducible.
public struct GitRepository: Sendable {
    public let path: String

    /// Environment that pins author, committer and dates and ignores the user's git config.
    public static func environment(date: String = "2024-01-02T03:04:05Z") -> [String: String?] {
        [
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
            "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
            "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
        ]
    }

    /// `git init` in `path` (created if needed).
    public static func create(at path: String) async throws -> GitRepository {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let repo = GitRepository(path: path)
        try await repo.git("init", "-q", "-b", "main")
        return repo
    }

    public init(path: String) {
        self.path = path
    }

    /// Runs git in the repository and returns its stdout, trimmed.
    @discardableResult
    public func git(_ arguments: String..., date: String = "2024-01-02T03:04:05Z") async throws -> String {
        try await Tool.check("git", arguments, in: path, environment: Self.environment(date: date))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `contents` to `relative` (creating directories).
    public func write(_ relative: String, _ contents: String) throws {
        try writeFile(path + "/" + relative, contents)
    }

    /// Stages everything and commits with `message`.
    public func commitAll(_ message: String, date: String = "2024-01-02T03:04:05Z") async throws {
        try await git("add", "-A", date: date)
        try await git("commit", "-q", "--allow-empty", "-m", message, date: date)
    }
}

/// Paths of this checkout.
public enum Repository {
    /// The package root (the directory holding Package.swift).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.path
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `examples/`, the Kubernetes-like workspace.
    public static var examples: String { root + "/examples" }

    /// The built `kbuild` executable: `$KBUILD_BIN`, else beside the test bundle.
    public static var kbuildBinary: String {
        if let explicit = ProcessInfo.processInfo.environment["KBUILD_BIN"] { return explicit }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        // The xctest bundle may be a directory (…/kbuildPackageTests.xctest/…); walk up to the bin dir.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("kbuild").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        fatalError("kbuild binary not found near \(runner.path); set KBUILD_BIN")
    }

    /// Copies `examples/` (without `_output`) into `destination`.
    public static func copyExamples(to destination: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
        // examples/layouts/ holds workspaces of their own (other projects' layouts), not part of this one.
        for name in try fm.contentsOfDirectory(atPath: examples) where name != "_output" && name != "layouts" {
            try fm.copyItem(atPath: examples + "/" + name, toPath: destination + "/" + name)
        }
    }

    /// A temp git repository holding a copy of `examples/layouts/<name>`, committed once and tagged `tag`.
    public static func layoutWorkspace(_ name: String, in directory: String, tag: String) async throws -> GitRepository
    {
        try FileManager.default.copyItem(atPath: examples + "/layouts/" + name, toPath: directory)
        try? FileManager.default.removeItem(atPath: directory + "/_output")
        let repo = try await GitRepository.create(at: directory)
        try await repo.commitAll("Initial \(name) layout workspace")
        try await repo.git("tag", "-a", tag, "-m", tag)
        return repo
    }

    /// A temp git repository holding a copy of `examples/`, committed once and tagged `tag` if given.
    public static func exampleWorkspace(
        in directory: String, tag: String? = nil, date: String = "2024-01-02T03:04:05Z"
    ) async throws -> GitRepository {
        try copyExamples(to: directory)
        let repo = try await GitRepository.create(at: directory)
        try await repo.commitAll("Initial example workspace", date: date)
        if let tag { try await repo.git("tag", "-a", tag, "-m", tag, date: date) }
        return repo
    }
}

/// Deterministic incompressible-looking bytes for fixtures.
public func pseudoRandomBytes(count: Int, seed: UInt32 = 12345) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var state = seed
    for i in bytes.indices {
        state = state &* 1_103_515_245 &+ 12345
        bytes[i] = UInt8(truncatingIfNeeded: state >> 16)
    }
    return bytes
}

/// Writes `contents` to `path`, creating its directories: the one file-writing helper of the tests.
public func writeFile(_ path: String, _ contents: String) throws {
    try FileManager.default.createDirectory(atPath: Paths.parent(of: path), withIntermediateDirectories: true)
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
}

/// One Go build cache for every test that runs Go: Go's cache is content-addressed, so sharing is
/// safe and keeps repeated builds fast.
public enum SharedGoCache {
    public static let path: String = {
        let path = NSTemporaryDirectory() + "/kbuild-test-gocache"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()
}
