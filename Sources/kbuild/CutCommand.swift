import ArgumentParser
import Foundation
import KbuildRelease
import KbuildVersion

extension Kbuild {
    struct Cut: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cut",
            abstract: "Cut a release: the two-commit procedure (Release vX.Y, tag, Begin development).",
            discussion: """
                On a clean tree: set gitVersion in pkg/version/base.go to vX.Y, commit "Release vX.Y", \
                create the annotated tag vX.Y on that commit, then set gitVersion to vX.Y-dev and commit \
                "Begin development after vX.Y". So a build at the tag says vX.Y, one from a source \
                tarball of it too, and every later build says vX.Y-N+<commit>.

                Refuses a dirty tree, an existing tag, a version that is not \
                vMAJOR.MINOR[.PATCH][-PRERELEASE], and a base.go without gitVersion. It never pushes. \
                The base.go is version.baseFile of the release config (default pkg/version/base.go). \
                No environment variable changes what it does, but for the output's: \
                \(OutputOptions.environmentHelp)
                """)

        @Argument(help: ArgumentHelp("The release, e.g. v0.5, v1.2.3 or v1.3.0-rc.1.", valueName: "version"))
        var version: String

        @OptionGroup var location: LocationOptions

        @Flag(help: "Show what would be done, and do nothing.")
        var dryRun = false

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let reporter = output.reporter(
                command: "cut", workspace: location.workspace, verbose: false,
                environment: ProcessInfo.processInfo.environment)
            try await reporter.run {
                // version.baseFile of the release config, when the workspace has one.
                try ReleaseLoader.checkWorkspace(location.workspace)
                let baseFile = try location.versionSettings()?.baseFile ?? VersionResolver.defaultBaseFile
                let directory = location.directory
                let plan = try await ReleaseCutter().cut(
                    version: version, workspace: directory, baseFile: baseFile, dryRun: dryRun)
                reporter.result(
                    lines: [
                        dryRun ? "Would cut \(plan.version) in \(directory):" : "Cut \(plan.version) in \(directory):"
                    ]
                        + plan.steps.enumerated().map { "  \($0 + 1). \($1)" }
                        + [
                            dryRun
                                ? "Nothing was changed."
                                : "Nothing was pushed. Review with `git log -2`, then: git push <remote> HEAD \(plan.version)"
                        ])
            }
        }
    }
}
