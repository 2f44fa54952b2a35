import ArgumentParser
import Foundation
import KbuildRelease

extension Kbuild {
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "build",
            abstract: "Cross-build every binary for every platform, with the version stamped in.",
            discussion: """
                Runs `go build -trimpath -buildvcs=false -gcflags=all=-dwarf=false -ldflags "-s -w -buildid= -X …"` for every binary \
                × platform of the release config into _output/local/bin/<os>/<arch>/, in parallel (--jobs). \
                Go gets a cleared environment (GOPROXY=off, GOFLAGS=-mod=…, caches under _output/local/go), \
                so nothing from your shell leaks in, and runs without network where the kernel allows it.

                \(EnvironmentHelp.workspace)

                \(OutputOptions.environmentHelp)

                \(RemoteCacheOptions.discussion)
                """)

        @OptionGroup var workspace: WorkspaceOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var sandbox: SandboxOption
        @OptionGroup var shard: ShardOption
        @OptionGroup var remote: RemoteCacheOptions

        @Flag(name: .customLong("dry-run"), help: "Print the build matrix and the output paths; build nothing.")
        var dryRun = false

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let reporter = workspace.reporter("build", output, environment)
            try await reporter.run {
                try await workspace.withLoaded(environment, digestSources: true, warn: reporter.warning) { loaded in
                    var loaded = loaded
                    if let spec = try shard.spec() { loaded.plan = loaded.plan.sharded(spec) }
                    if dryRun {
                        print(loaded.plan.renderedBuilds, terminator: "")
                        return
                    }
                    var options = workspace.releaseOptions(environment, sandbox: sandbox.sandbox, output: output)
                    try remote.apply(to: &options, plan: loaded.plan, environment: environment)
                    reporter.expect(builds: loaded.plan.builds.count)
                    try await ReleasePipeline(loaded, options: options).build { reporter.handle($0) }
                    if let remote = options.remoteCache { reporter.result(remote.summary) }
                }
            }
        }
    }
}
