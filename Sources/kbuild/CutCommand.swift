import ArgumentParser
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
                No environment variable changes what it does.
                """)

        @Argument(help: ArgumentHelp("The release, e.g. v0.5, v1.2.3 or v1.3.0-rc.1.", valueName: "version"))
        var version: String

        @OptionGroup var location: LocationOptions

        @Flag(help: "Show what would be done, and do nothing.")
        var dryRun = false

        func run() async throws {
            try await failing {
                // version.baseFile of the release config, when the workspace has one.
                try ReleaseLoader.checkWorkspace(location.workspace)
                let baseFile = try location.versionSettings()?.baseFile ?? VersionResolver.defaultBaseFile
                let directory = location.directory
                let plan = try await ReleaseCutter().cut(
                    version: version, workspace: directory, baseFile: baseFile, dryRun: dryRun)
                print(dryRun ? "Would cut \(plan.version) in \(directory):" : "Cut \(plan.version) in \(directory):")
                for (number, step) in plan.steps.enumerated() { print("  \(number + 1). \(step)") }
                if dryRun {
                    print("Nothing was changed.")
                } else {
                    print("Nothing was pushed. Review with `git log -2`, then: git push <remote> HEAD \(plan.version)")
                }
            }
        }
    }
}
