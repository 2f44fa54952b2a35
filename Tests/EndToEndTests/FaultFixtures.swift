import Foundation
import KbuildCore
import TestSupport
import Testing

/// One good release of examples/ (linux/amd64 only, pinned date), made once per test process and
/// copied for every fault case, so each case starts from a workspace with a previous release.
enum GoodRelease {
    static let epoch = "1700000000"

    /// What every run in these tests gets: small, pinned, shared Go cache, no leaking overrides.
    static let environment: [String: String?] = [
        "KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": epoch, "KBUILD_GOCACHE": SharedGoCache.path,
        "KUBE_FASTBUILD": nil, "KUBE_DOCKER_REGISTRY": nil, "KUBE_GIT_VERSION": nil, "KUBE_GIT_VERSION_FILE": nil,
        "KUBE_GIT_COMMIT": nil, "KUBE_GIT_TREE_STATE": nil, "GO": nil,
    ]

    private static let made = Task<String, any Error> {
        // One per test process; those of test processes that are gone are removed here.
        let prefix = "kbuild-test-good-release-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []
        where name.hasPrefix(prefix) {
            if let pid = pid_t(name.dropFirst(prefix.count)), kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "/" + name)
            }
        }
        let directory = NSTemporaryDirectory() + "/" + prefix + "\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        let workspace = directory + "/ws"
        _ = try await Repository.exampleWorkspace(in: workspace, tag: "v1.0.0")
        let result = try await kbuild(["release"], in: workspace)
        guard result.succeeded else { throw FixtureError("the good release failed: \(result.stderr)") }
        return workspace
    }

    /// The workspace holding the good release (do not modify: copy it).
    static func workspace() async throws -> String { try await made.value }

    /// Runs the built kbuild with `environment` and `extra` on top.
    static func kbuild(_ arguments: [String], in directory: String, _ extra: [String: String?] = [:]) async throws
        -> CommandResult
    {
        try await runKbuild(arguments, in: directory, environment.merging(extra) { $1 })
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A private copy of the good release to break, with the mounts it made undone by `cleanup()`.
final class Fixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let workspace: String
    private var mounts: [String] = []

    var output: String { workspace + "/_output" }
    var releaseTars: String { output + "/release-tars" }
    var config: String { workspace + "/release/kbuild.yaml" }

    init(_ label: String) async throws {
        directory = try TemporaryDirectory("kbuild-fault-" + label.replacingOccurrences(of: " ", with: "-"))
        workspace = directory.appending("ws")
        try await Tool.check("cp", ["-a", try await GoodRelease.workspace(), workspace])
    }

    var repository: GitRepository { GitRepository(path: workspace) }

    /// Replaces the one occurrence of `old` in the release config; returns the line `new` starts on.
    @discardableResult
    func editConfig(_ old: String, _ new: String) throws -> Int {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let parts = text.components(separatedBy: old)
        guard parts.count == 2 else { throw FixtureError("'\(old)' occurs \(parts.count - 1) times in the config") }
        try (parts[0] + new + parts[1]).write(toFile: config, atomically: true, encoding: .utf8)
        return parts[0].split(separator: "\n", omittingEmptySubsequences: false).count
    }

    /// The 1-based line of the first line of the config containing `needle`.
    func configLine(of needle: String) throws -> Int {
        let lines = try String(contentsOfFile: config, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.contains(needle) }) else {
            throw FixtureError("no '\(needle)' in config")
        }
        return index + 1
    }

    func write(_ relative: String, _ text: String) throws {
        try repository.write(relative, text)
    }

    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: workspace + "/" + relative, withDestinationPath: target)
    }

    /// Adds `count` small files under `generated/` (100 per directory) and commits them: a tree the size
    /// of a real repository, whose source walk outlasts an early error.
    func addGeneratedFiles(_ count: Int) async throws {
        for index in 0..<count {
            let directory = workspace + "/generated/d\(index / 100)"
            if index % 100 == 0 {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            try Data("generated \(index)\n".utf8).write(to: URL(fileURLWithPath: directory + "/f\(index % 100).txt"))
        }
        try await repository.commitAll("20,000 more files")
    }

    /// Hands the whole checkout to `nobody` (uid 65534): git, run as root, then refuses it as "dubious".
    func ownByAnotherUser() async throws {
        try await Tool.check("chown", ["-R", "65534:65534", workspace])
    }

    /// An environment whose HOME is an empty directory and with no other git config, so no
    /// `safe.directory` of the machine's applies.
    func emptyHome() throws -> [String: String?] {
        let home = directory.appending("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return ["HOME": home, "XDG_CONFIG_HOME": nil, "GIT_CONFIG_GLOBAL": nil, "GIT_CONFIG_SYSTEM": "/dev/null"]
    }

    /// Replaces the checkout by a real `git clone --depth 1` of itself one commit after its tag, so the
    /// clone has no tag; `_output` (the previous release) moves along.
    func makeShallowClone() async throws {
        try await repository.commitAll("after v1.0.0", date: "2024-01-03T00:00:00Z")
        let clone = directory.appending("clone")
        try await Tool.check("git", ["clone", "-q", "--depth", "1", "file://" + workspace, clone])
        try FileManager.default.moveItem(atPath: output, toPath: clone + "/_output")
        try FileManager.default.removeItem(atPath: workspace)
        try FileManager.default.moveItem(atPath: clone, toPath: workspace)
        #expect(try await repository.git("rev-parse", "--is-shallow-repository") == "true")
    }

    /// Makes `path` a read-only bind mount of itself (as root, permissions do not stop writes; this does).
    func mountReadOnly(_ path: String) async throws {
        try await Tool.check("mount", ["--bind", path, path])
        mounts.append(path)
        try await Tool.check("mount", ["-o", "remount,bind,ro", path])
    }

    /// Moves `_output` onto a tmpfs with only `free` bytes to spare: the disk fills up while kbuild writes.
    func outputOnSmallDisk(free: Int) async throws {
        let used = Int(try await Tool.check("du", ["-sb", output]).split(separator: "\t").first ?? "") ?? 0
        let size = (used + free) / 4096 * 4096
        let aside = workspace + "/_output.aside"
        try FileManager.default.moveItem(atPath: output, toPath: aside)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
        try await Tool.check("mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", output])
        mounts.append(output)
        try await Tool.check("cp", ["-a", aside + "/.", output + "/"])
        try FileManager.default.removeItem(atPath: aside)
    }

    /// Undoes the mounts (last made first) and removes the copy.
    func cleanup() {
        for path in mounts.reversed() {
            // Busy for a moment on a loaded machine (a process that has just exited is still being torn
            // down); busy for two seconds is a process kbuild left behind, and that is a failure.
            var attempts = 0
            while umount(path) != 0 {
                attempts += 1
                guard errno == EBUSY, attempts < 20 else {
                    Issue.record("umount \(path): \(String(cString: strerror(errno))) after \(attempts) attempts")
                    break
                }
                usleep(100_000)
            }
        }
        mounts = []
        directory.remove()
    }
}

/// Every file of a directory, by name, with its bytes.
func snapshot(of directory: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
    }
    return files
}

/// Paths under `directory` (any depth) whose name marks a kbuild temporary (`.kbuild-tmp-`).
func temporaryLeftovers(in directory: String) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
    var found: [String] = []
    while let relative = walker.nextObject() as? String {
        if Paths.name(of: relative).contains(".kbuild-tmp") { found.append(relative) }
    }
    return found.sorted()
}

/// Writes docker-archive base images with one crafted layer, with GNU tar and sha256sum.
enum BaseImageFixture {
    /// How the one layer is broken (`good` is not).
    enum Layer: String, Sendable, CaseIterable {
        case good, dotdot, absolutePath, relativeSymlinkOut, absoluteSymlink, hardlinkOut, wrongDiffID
    }

    static let script = #"""
        set -e
        out=$1; mode=$2; work=$(mktemp -d); cd "$work"
        mkdir -p root/etc && echo hello > root/etc/motd
        case $mode in
          dotdot) echo evil > evil; (cd root && tar -cPf ../layer.tar etc ../evil) ;;
          absolutePath) echo evil > "$work/evil"; (cd root && tar -cPf ../layer.tar etc "$work/evil") ;;
          relativeSymlinkOut) ln -s ../../../etc/shadow root/etc/shadow; tar -C root -cf layer.tar etc ;;
          absoluteSymlink) ln -s /etc/motd root/etc/motd-link; tar -C root -cf layer.tar etc ;;
          hardlinkOut) ln root/etc/motd root/etc/hl; tar -C root -cPf layer.tar --transform 's,^etc/hl$,../../etc/passwd,RSh' etc ;;
          *) tar -C root -cf layer.tar etc ;;
        esac
        diff=$(sha256sum layer.tar | cut -c1-64)
        if [ "$mode" = wrongDiffID ]; then diff=$(echo other | sha256sum | cut -c1-64); fi
        printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"test"}]}' "$diff" > config.json
        config=$(sha256sum config.json | cut -c1-64); mv config.json "$config.json"
        printf '[{"Config":"%s.json","RepoTags":["base:1"],"Layers":["layer.tar"]}]' "$config" > manifest.json
        tar -cf "$out" manifest.json "$config.json" layer.tar
        cd /; rm -rf "$work"
        """#

    static func write(_ layer: Layer, to path: String) async throws {
        try await Tool.check("/bin/sh", ["-c", script, "sh", path, layer.rawValue])
    }

    /// Puts a base image at `base.tar` in the fixture's workspace and points images.base at it.
    static func install(_ layer: Layer, in fixture: Fixture) async throws {
        try await write(layer, to: fixture.workspace + "/base.tar")
        try fixture.editConfig("base: scratch", "base: base.tar")
    }
}

/// Starts `executable` as the leader of a new process group (so its orphans can be waited for),
/// with default signal handling and stdout+stderr to `log`. Reap it with `waitForExit`.
func spawnGroupLeader(_ executable: String, _ arguments: [String], environment: [String: String?], log: String)
    throws -> pid_t
{
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv + envp { free(pointer) }
    }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard status == 0 else { throw FixtureError("posix_spawn \(executable): \(String(cString: strerror(status)))") }
    return pid
}

/// How a spawned process ended.
enum Exit: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let code): return "exit \(code)"
        case .signaled(let signal): return "signal \(signal)"
        }
    }
}

/// Reaps `pid`; with `block: false` returns nil while it still runs.
func waitForExit(_ pid: pid_t, block: Bool = true) -> Exit? {
    var status: Int32 = 0
    while true {
        let result = waitpid(pid, &status, block ? 0 : WNOHANG)
        if result == -1 && errno == EINTR { continue }
        if result == 0 { return nil }
        guard result == pid else { return nil }
        break
    }
    // WIFEXITED / WEXITSTATUS / WTERMSIG by hand: the C macros are not imported.
    let signal = status & 0x7f
    return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
}

/// Waits (up to `limit` seconds) until no process of group `group` is left: orphans of a killed
/// kbuild (go build, unshare) finish on their own. Returns false if some were still running.
func waitForProcessGroup(_ group: pid_t, limit: Double = 120) async -> Bool {
    let deadline = Date().addingTimeInterval(limit)
    while kill(-group, 0) == 0 {
        if Date() > deadline { return false }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return true
}
