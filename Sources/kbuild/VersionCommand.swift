import ArgumentParser

extension Kbuild {
    struct VersionCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version",
            abstract: "Print the version of the workspace, computed from git the Kubernetes way.")

        func run() async throws {
            throw ValidationError("`kbuild version` is not implemented yet")
        }
    }
}
