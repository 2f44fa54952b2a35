import ArgumentParser
import Foundation
import KbuildCore
import KbuildVerify

extension Kbuild {
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Explain how two releases, tarballs, image tarballs or binaries differ.",
            discussion: """
                A and B are two release directories (e.g. two _output/release-tars), or two files: tar.gz, tar, \
                docker-archive image tarballs, Go binaries, JSON. Prints a table, one difference a row: files \
                added, removed or changed; inside archives the entries added or removed, the entry order, the \
                tar header field that differs (mode, uid/gid, uname/gname, mtime, size, link target, pax \
                records) or the content, recursing into nested archives; the gzip header (name, mtime, OS) \
                when that is where two tar.gz differ; in JSON (manifest.json, image configs) the keys that \
                differ; for two Go binaries the `go version -m` build info that differs, else the first \
                differing byte. Memory stays bounded on any input: a file or decompressed stream over 64 MiB \
                is never held — a gzip bomb is counted and digested as it streams, two large tar streams are \
                read side by side entry by entry (entries up to 16 MiB explained). Exit status 0 when \
                identical, 1 when they differ. With --log-format json, one `difference` event per row, then \
                a `result` (docs/log-format.md). Honours GO and PATH (the `go` used for `go version -m`) and \
                TMPDIR. \(OutputOptions.environmentHelp)
                """)

        @Argument(help: ArgumentHelp("The first release directory or file.", valueName: "a"))
        var a: String

        @Argument(help: ArgumentHelp("The second release directory or file.", valueName: "b"))
        var b: String

        @Flag(name: .customLong("json"), help: "Print the differences as one JSON document.")
        var json = false

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let reporter = output.reporter(
                command: "diff", workspace: FileManager.default.currentDirectoryPath, verbose: false,
                environment: environment)
            try await reporter.run {
                let report = try await ReleaseDiffer(environment: environment).compare(a, b)
                if reporter.json {
                    report.differences.forEach(reporter.difference)
                    let count = report.differences.count
                    reporter.result(
                        report.identical
                            ? "identical: \(Escaping.oneLine(a)) and \(Escaping.oneLine(b))"
                            : "\(count) difference\(count == 1 ? "" : "s")")
                } else {
                    print(json ? report.json() : report.table(), terminator: json ? "\n" : "")
                }
                if !report.identical { throw ExitCode.failure }
            }
        }
    }
}
