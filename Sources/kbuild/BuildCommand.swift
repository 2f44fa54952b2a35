import ArgumentParser
import Foundation
import KbuildRelease

extension Kbuild {
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "build",
            abstract: "Cross-build every binary for every platform, with the version stamped in.",
            discussion: """
                Runs `go build -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X …"` for every binary \
                × platform of the release config into _output/local/bin/<os>/<arch>/, in parallel (--jobs). \
                Go gets a cleared environment (GOPROXY=off, GOFLAGS=-mod=…, caches under _output/local/go), \
                so nothing from your shell leaks in, and runs without network where the kernel allows it.

                KUBE_BUILD_PLATFORMS="linux/amd64 darwin/arm64" narrows the platforms; \
                KUBE_FASTBUILD=true (or --quick) builds the host platform only.

                \(RemoteCacheOptions.discussion)
                """)

        @OptionGroup var workspace: WorkspaceOptions
        @OptionGroup var sandbox: SandboxOption
        @OptionGroup var remote: RemoteCacheOptions

        @Flag(name: .customLong("dry-run"), help: "Print the build matrix and the output paths; build nothing.")
        var dryRun = false

        func run() async throws {
            try await failing(verbose: workspace.verbose) {
                let loaded = try await workspace.load()
                if dryRun {
                    print(loaded.plan.renderedBuilds, terminator: "")
                    return
                }
                var options = workspace.releaseOptions(sandbox: sandbox.sandbox)
                try remote.apply(to: &options, plan: loaded.plan)
                let pipeline = ReleasePipeline(plan: loaded.plan, options: options, toolchain: loaded.toolchain)
                let printer = ProgressPrinter(plan: loaded.plan, verbose: workspace.verbose)
                try await pipeline.build { printer.handle($0) }
                if let remote = options.remoteCache { print(remote.summary) }
            }
        }
    }
}
