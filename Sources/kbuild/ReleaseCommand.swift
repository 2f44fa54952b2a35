import ArgumentParser
import Foundation
import KbuildRelease

extension Kbuild {
    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Build, wrap images, stage and pack the release tarballs with checksums.",
            discussion: """
                version → build → images → stage → pack → checksums → publish, into _output/release-stage \
                and _output/release-tars (SHA256SUMS, SHA512SUMS, <file>.sha256/.sha512, artifacts.json). \
                Every byte is reproducible: timestamps come from SOURCE_DATE_EPOCH, else the HEAD commit \
                time. Outputs are written beside their targets and swapped into place at the end, so a \
                failed or interrupted release leaves the previous release-tars untouched. Two releases on \
                one _output never interleave (a lock). Outputs whose inputs did not change are reused.

                \(EnvironmentHelp.workspace)
                """)

        @OptionGroup var workspace: WorkspaceOptions
        @OptionGroup var sandbox: SandboxOption

        @Flag(name: .customLong("skip-build"), help: "Package the binaries already in _output/local/bin.")
        var skipBuild = false

        func run() async throws {
            try await failing(verbose: workspace.verbose) {
                let environment = ProcessInfo.processInfo.environment
                let loaded = try await workspace.load(environment)
                var options = workspace.releaseOptions(environment, sandbox: sandbox.sandbox)
                options.skipBuild = skipBuild
                let printer = ProgressPrinter(plan: loaded.plan, verbose: workspace.verbose)
                let artifacts = try await ReleasePipeline(loaded, options: options).release { printer.handle($0) }
                let tarballs = artifacts.filter { $0.kind != .image }.count
                print("release \(loaded.plan.version.version): \(tarballs) tarballs in \(loaded.plan.layout.releaseTars)")
            }
        }
    }
}
