import ArgumentParser
import Foundation
import KbuildVersion

extension VersionStyle: ExpressibleByArgument {}

/// Prints `error: …` on stderr and exits 1: the CLI's one way of reporting a failure.
func failing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
