import ArgumentParser
import KbuildRelease

@main
struct Kbuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kbuild",
        abstract: "Hermetic, reproducible release builds for Go monorepos, the Kubernetes way.",
        discussion: """
            kbuild computes the version from git, cross-builds every Go binary for every platform \
            with the version stamped in, wraps server binaries into docker image tarballs tagged \
            with the md5 of the binary, and packs the Kubernetes release layout under _output/, \
            byte-for-byte reproducibly (timestamps from SOURCE_DATE_EPOCH or the HEAD commit).
            """,
        version: "0.1.0",
        groupedSubcommands: [
            CommandGroup(name: "Release steps", subcommands: [Kbuild.Build.self, Kbuild.Images.self, Kbuild.Release.self]),
            CommandGroup(name: "Inspect", subcommands: [Kbuild.VersionCommand.self, Kbuild.Plan.self]),
            CommandGroup(name: "Maintain", subcommands: [Kbuild.Init.self, Kbuild.Cut.self]),
        ])
}
