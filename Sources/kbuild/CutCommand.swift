import ArgumentParser

extension Kbuild {
    struct Cut: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cut",
            abstract: "Cut a release: the two-commit procedure (Release vX.Y, tag, Begin development).")

        func run() async throws {
            throw ValidationError("`kbuild cut` is not implemented yet")
        }
    }
}
