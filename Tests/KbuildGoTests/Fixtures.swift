import Foundation
import KbuildCore
import KbuildGo
import Synchronization
import TestSupport

/// A tiny Go module (standard library only) with three main packages that print a -X stamped version.
enum TinyModule {
    static let modulePath = "example.com/tiny"
    static let versionVariable = "example.com/tiny/pkg/version.gitVersion"
    static let binaries = ["alpha", "beta", "gamma"]

    /// Writes the module into `directory`; `cmd/broken` does not compile, `pkg/version` is not main.
    static func write(to directory: String) throws {
        var files = [
            "go.mod": "module \(modulePath)\n\ngo 1.19\n",
            "pkg/version/version.go": """
            package version

            var gitVersion = "v0.0.0-unset"

            // Get returns the version stamped at link time.
            func Get() string { return gitVersion }

            """,
            "cmd/broken/main.go": """
            package main

            func main() {
            \tundefinedFunction()
            }

            """,
        ]
        for name in binaries {
            files["cmd/\(name)/main.go"] = """
                package main

                import (
                \t"fmt"
                \t"os"

                \t"\(modulePath)/pkg/version"
                )

                func main() {
                \tif len(os.Args) > 1 && os.Args[1] == "--version" {
                \t\tfmt.Println(version.Get())
                \t\treturn
                \t}
                \tfmt.Println("\(name)")
                }

                """
        }
        for (relative, contents) in files { try writeFile(directory + "/" + relative, contents) }
    }
}

/// One GOCACHE for the whole suite: cross-compiling std for five platforms is slow only the first time.
let sharedGoCache = SharedGoCache.path

/// The test process's environment (where `go` is found).
var callerEnvironment: [String: String] { ProcessInfo.processInfo.environment }

/// Records every command and passes it on to the real runner.
final class RecordingRunner: ProcessRunner {
    private let recorded = Mutex<[Command]>([])
    private let real = SubprocessRunner()

    var commands: [Command] { recorded.withLock { $0 } }

    func run(_ command: Command) async throws -> CommandResult {
        recorded.withLock { $0.append(command) }
        return try await real.run(command)
    }
}

/// Collects progress events from concurrent builds.
final class EventLog: Sendable {
    private let events = Mutex<[GoBuildEvent]>([])
    var all: [GoBuildEvent] { events.withLock { $0 } }
    func record(_ event: GoBuildEvent) { events.withLock { $0.append(event) } }
}

/// A temp workspace holding the tiny module, plus the standard output layout.
struct Workspace {
    let directory: TemporaryDirectory
    var root: String { directory.appending("ws") }
    var layout: OutputLayout { OutputLayout(workspace: root) }

    init(_ label: String = "kbuild-go") throws {
        directory = try TemporaryDirectory(label)
        try TinyModule.write(to: root)
    }

    func targets(_ platforms: [Platform], binaries: [String] = TinyModule.binaries) -> [GoBuildTarget] {
        platforms.flatMap { platform in
            binaries.map { name in
                GoBuildTarget(
                    binary: name, package: "./cmd/\(name)", platform: platform, isStatic: true,
                    output: layout.binary(name, platform))
            }
        }
    }

    func settings(
        version: String = "v1.2.3", sandbox: SandboxMode = .off, required: String? = nil, jobs: Int = 2,
        goCache: String? = sharedGoCache, group: Bool = true
    ) -> GoBuildSettings {
        GoBuildSettings(
            workspace: root, goState: layout.goState, ldflags: ["-X", "\(TinyModule.versionVariable)=\(version)"],
            modMode: .mod, tags: [], requiredGoVersion: required, sandbox: sandbox, jobs: jobs, goCache: goCache,
            groupPackages: group)
    }

    /// Names of leftover temporary files or directories under the binary outputs.
    func leftovers() -> [String] {
        let base = layout.root + "/local/bin"
        guard let all = FileManager.default.enumerator(atPath: base)?.allObjects as? [String] else { return [] }
        return all.filter { $0.contains(".kbuild-tmp-") }
    }

    func remove() { directory.remove() }
}

func locateGo() async throws -> GoToolchain {
    try await GoToolchain.locate(runner: SubprocessRunner(), environment: callerEnvironment)
}

func fileBytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}
