import Foundation
import KbuildConfig
import KbuildCore
import KbuildGo
import KbuildVersion
import Synchronization
import TestSupport

@testable import KbuildRelease

/// A small workspace with stand-in binaries already "built": enough for the planner and every step
/// after build, without Go. Client linux/amd64 + windows/amd64, server linux/amd64, node linux/arm64.
struct ReleaseFixture {
    let directory: TemporaryDirectory
    let plan: ReleasePlan

    init(addon: String = AddonManifestTests.labelled) throws {
        directory = try TemporaryDirectory("kbuild-release")
        let workspace = directory.path
        try writeFile(workspace + "/LICENSES/LICENSE", "Apache-2.0\n")
        try writeFile(workspace + "/README.md", "# fixture\n")
        try writeFile(workspace + "/cluster/addons/dns.yaml", addon)
        try writeFile(workspace + "/cmd/kubectl/main.go", "package main\n")
        let config = ReleaseConfig(
            version: .init(package: "k8s.io/example/pkg/version"),
            platformsByKind: [
                .client: [Platform(os: "linux", arch: "amd64"), Platform(os: "windows", arch: "amd64")],
                .server: [Platform(os: "linux", arch: "amd64")],
                .node: [Platform(os: "linux", arch: "arm64")],
            ],
            binaries: [
                .init(name: "kubectl", package: "./cmd/kubectl", kinds: [.client]),
                .init(name: "kube-proxy", package: "./cmd/kube-proxy", kinds: [.server, .node], image: true),
                .init(name: "kubelet", package: "./cmd/kubelet", kinds: [.server, .node]),
            ],
            addons: .init(dirs: ["cluster/addons"]), full: .init(include: ["cluster"]))
        let version = VersionInfo(
            version: "v1.2.3", major: "1", minor: "2", commit: String(repeating: "a", count: 40), treeState: "clean",
            buildDate: "2024-01-02T03:04:05Z", source: .git)
        plan = ReleasePlanner.plan(
            config: config, version: version, sourceDate: try SourceDate(seconds: 1_704_164_645), workspace: workspace)
        for target in plan.builds { try writeBinary(target, "stand-in \(target.binary) for \(target.platform)\n") }
    }

    init(directory: TemporaryDirectory, plan: ReleasePlan) {
        self.directory = directory
        self.plan = plan
    }

    /// Writes a stand-in binary where `kbuild build` would put it, stamped with the release's version
    /// the way Go's linker stores `-X` values (NUL-terminated), so `--skip-build`'s stamp check passes.
    func writeBinary(_ target: GoBuildTarget, _ contents: String) throws {
        let version = plan.version
        try writeFile(target.output, contents + "\0\(version.version)\0\(version.commit)\0\(version.buildDate)\0")
        chmod(target.output, 0o755)
    }

    /// A pipeline that packages the stand-ins (`--skip-build`); no Go needed.
    func pipeline() -> ReleasePipeline {
        ReleasePipeline(
            plan: plan, options: ReleaseOptions(jobs: 2, skipBuild: true),
            toolchain: .failure(.goNotFound(searchedPath: "")))
    }

    /// A step context over the plan, reporting into `events`.
    func context(_ events: EventLog = EventLog()) -> StepContext {
        StepContext(
            plan: plan, options: ReleaseOptions(jobs: 2, skipBuild: true),
            toolchain: .failure(.goNotFound(searchedPath: "")), processes: SubprocessRunner(),
            cache: OutputCache(directory: plan.layout.cache), progress: { events.record($0) })
    }

    func remove() { directory.remove() }
}

/// The events a run reported, in order.
final class EventLog: Sendable {
    private let events = Mutex<[ReleaseEvent]>([])
    func record(_ event: ReleaseEvent) { events.withLock { $0.append(event) } }

    /// The progress reports, in order.
    var progress: [WorkProgress] {
        events.withLock { events in events.compactMap { if case .progress(let report) = $0 { report } else { nil } } }
    }

    /// Every step's outcome, by step name, in order.
    var outcomes: [(StepName, StepOutcome)] {
        events.withLock { events in
            events.compactMap { if case .stepFinished(let name, _, let outcome) = $0 { (name, outcome) } else { nil } }
        }
    }
}
