import ArgumentParser
import Foundation
import KbuildRelease

extension Kbuild {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Print the release plan (binaries × platforms, images, tarballs) without doing anything.",
            discussion: """
                The plan is computed from the release config, the environment and the version, exactly \
                as `kbuild release` would use it. Paths are relative to the workspace.

                \(EnvironmentHelp.workspace)
                """)

        @OptionGroup var workspace: WorkspaceOptions

        func run() async throws {
            try await failing(verbose: workspace.verbose) {
                try await workspace.withLoaded(ProcessInfo.processInfo.environment) {
                    print($0.plan.rendered, terminator: "")
                }
            }
        }
    }
}
