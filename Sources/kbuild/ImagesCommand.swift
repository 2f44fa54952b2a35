import ArgumentParser
import Foundation
import KbuildRelease

extension Kbuild {
    struct Images: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "images",
            abstract: "Write docker-archive image tarballs with embedded tags, without a Docker engine.",
            discussion: """
                For every binary with `image: true`, for every linux server platform, writes \
                _output/release-images/<arch>/<bin>.tar (loads with `docker load` / `podman load` and \
                restores <registry>/<bin>-<arch>:<tag>) and <bin>.docker_tag (the tag and a newline). \
                The tag is the md5 of the binary (tagScheme: md5) or the version with + as _ \
                (tagScheme: version). Needs the binaries of `kbuild build`.

                \(EnvironmentHelp.workspace)

                \(OutputOptions.environmentHelp)

                \(RemoteCacheOptions.discussion) (Today the shared cache holds binaries: images are \
                written locally; the options are accepted so one set of flags serves every command.)
                """)

        @OptionGroup var workspace: WorkspaceOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var shard: ShardOption
        @OptionGroup var remote: RemoteCacheOptions

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let reporter = workspace.reporter("images", output, environment)
            try await reporter.run {
                try await workspace.withLoaded(environment, warn: reporter.warning) { loaded in
                    var loaded = loaded
                    if let spec = try shard.spec() { loaded.plan = loaded.plan.sharded(spec) }
                    var options = workspace.releaseOptions(environment, output: output)
                    try remote.apply(to: &options, plan: loaded.plan, environment: environment)
                    _ = try await ReleasePipeline(loaded, options: options).images { reporter.handle($0) }
                }
            }
        }
    }
}
