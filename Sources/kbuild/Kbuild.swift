import ArgumentParser
import Foundation
import KbuildCore
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

            Exit status: 0 success; 1 bad input or a failed step (one `error:` line on stderr); \
            64 a usage error (a bad option or value, also one line). A shallow clone without v* \
            tags gets base.go's version with a warning, or an error with --strict-version or CI=true.
            """,
        version: "0.1.0",
        groupedSubcommands: [
            CommandGroup(
                name: "Release steps",
                subcommands: [Kbuild.Build.self, Kbuild.Images.self, Kbuild.Release.self, Kbuild.Publish.self]),
            CommandGroup(name: "Inspect", subcommands: [Kbuild.VersionCommand.self, Kbuild.Plan.self]),
            CommandGroup(name: "Prove", subcommands: [Kbuild.Verify.self, Kbuild.Diff.self]),
            CommandGroup(name: "Maintain", subcommands: [Kbuild.Init.self, Kbuild.Cut.self]),
        ])

    /// ArgumentParser's main, except that a usage error (a bad option or value) is one line,
    /// `error: <problem>; see kbuild <command> --help`, with exit status 64 (EX_USAGE).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            guard code == .validationFailure else { exit(withError: error) }
            var text = message(for: error)
            if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
            while text.hasSuffix(".") || text.hasSuffix("\n") { text.removeLast() }
            let names = Set(configuration.groupedSubcommands.flatMap(\.subcommands).map { $0._commandName })
            let command =
                CommandLine.arguments.dropFirst().first { names.contains($0) }.map { "kbuild \($0)" } ?? "kbuild"
            FileHandle.standardError.write(Data("error: \(Escaping.oneLine(text)); see \(command) --help\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
