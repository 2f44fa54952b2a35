import ArgumentParser

extension Kbuild {
    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Build, wrap images, stage and pack the release tarballs with checksums.")

        func run() async throws {
            throw ValidationError("`kbuild release` is not implemented yet")
        }
    }
}
