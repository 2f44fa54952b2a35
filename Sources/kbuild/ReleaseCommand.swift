import ArgumentParser
import Foundation
import KbuildRelease

extension Kbuild {
    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Build, wrap images, stage and pack the release tarballs with checksums.",
            discussion: """
                version → build → images → stage → package → checksums, into _output/release-stage and \
                _output/release-tars (SHA256SUMS, SHA512SUMS, <file>.sha256/.sha512, artifacts.json). \
                Every byte is reproducible: timestamps come from SOURCE_DATE_EPOCH, else the HEAD commit \
                time. Outputs are written beside their targets and renamed into place at the end, so a \
                failed or interrupted release leaves the previous release-tars untouched. Two releases on \
                one _output never interleave (a lock). Outputs whose inputs did not change are reused.

                \(RemoteCacheOptions.discussion)
                """)

        @OptionGroup var workspace: WorkspaceOptions
        @OptionGroup var sandbox: SandboxOption
        @OptionGroup var remote: RemoteCacheOptions

        @Flag(name: .customLong("skip-build"), help: "Package the binaries already in _output/local/bin.")
        var skipBuild = false

        func run() async throws {
            try await failing(verbose: workspace.verbose) {
                let loaded = try await workspace.load()
                var options = workspace.releaseOptions(sandbox: sandbox.sandbox)
                options.skipBuild = skipBuild
                try remote.apply(to: &options, plan: loaded.plan)
                let pipeline = ReleasePipeline(plan: loaded.plan, options: options, toolchain: loaded.toolchain)
                let printer = ProgressPrinter(plan: loaded.plan, verbose: workspace.verbose)
                let artifacts = try await pipeline.release { printer.handle($0) }
                if let remote = options.remoteCache { print(remote.summary) }
                let tarballs = artifacts.filter { $0.kind != "image" }.count
                print("release \(loaded.plan.version.version): \(tarballs) tarballs in \(loaded.plan.layout.releaseTars)")
            }
        }
    }
}
