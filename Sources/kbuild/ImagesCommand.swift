import ArgumentParser

extension Kbuild {
    struct Images: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "images",
            abstract: "Write docker-archive image tarballs with embedded tags, without a Docker engine.")

        func run() async throws {
            throw ValidationError("`kbuild images` is not implemented yet")
        }
    }
}
