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
                vMAJOR.MINOR[.PATCH][-PRERELEASE], and a base.go without gitVersion. It never pushes.
                """)

        @Argument(help: ArgumentHelp("The release, e.g. v0.5, v1.2.3 or v1.3.0-rc.1.", valueName: "version"))
        var version: String

        @Option(
            name: [.customShort("C"), .customLong("directory")],
            help: ArgumentHelp("The Go workspace.", valueName: "dir"))
        var directory: String = "."

        // TODO(integrator): read version.baseFile from the release config.
        @Option(help: ArgumentHelp("The release config (version.baseFile).", valueName: "file"))
        var config: String?

        @Flag(help: "Show what would be done, and do nothing.")
        var dryRun = false

        func run() async throws {
            try await failing {
                try ReleaseLoader.checkWorkspace(ReleaseLoader.absoluteWorkspace(directory))
                let plan = try await ReleaseCutter().cut(
                    version: version, workspace: directory, baseFile: VersionResolver.defaultBaseFile,
                    dryRun: dryRun)
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
