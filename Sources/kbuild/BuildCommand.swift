import ArgumentParser

extension Kbuild {
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "build",
            abstract: "Cross-build every binary for every platform, with the version stamped in.")

        func run() async throws {
            throw ValidationError("`kbuild build` is not implemented yet")
        }
    }
}
