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

                --json prints every file the release writes — builds, images, every archive with every \
                entry (path inside, type, mode, source), every side file — as JSON for tools \
                (schemaVersion 1, docs/plan-json.md).

                \(EnvironmentHelp.workspace)
                """)

        @OptionGroup var workspace: WorkspaceOptions

        @Flag(help: "Print the plan as JSON (schemaVersion 1, docs/plan-json.md).")
        var json = false

        func run() async throws {
            try await failing(verbose: workspace.verbose) {
                try await workspace.withLoaded(ProcessInfo.processInfo.environment) { loaded in
                    if json {
                        FileHandle.standardOutput.write(try loaded.plan.document.encoded())
                    } else {
                        print(loaded.plan.rendered, terminator: "")
                    }
                }
            }
        }
    }
}
