import ArgumentParser

extension Kbuild {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Print the release plan (binaries x platforms, images, tarballs) without doing anything.")

        func run() async throws {
            throw ValidationError("`kbuild plan` is not implemented yet")
        }
    }
}
