import ArgumentParser
import Foundation

/// Prints `error: …` on stderr and exits 1: the CLI's one way of reporting a failure.
/// The message is its first line; `verbose` prints all of it (a failed command's output, say).
func failing<T>(verbose: Bool = false, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        let text = "\(error)"
        let line = verbose ? text : (text.split(separator: "\n").first.map(String.init) ?? text)
        FileHandle.standardError.write(Data("error: \(line)\n".utf8))
        throw ExitCode.failure
    }
}
