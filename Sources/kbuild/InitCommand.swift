import ArgumentParser
import Foundation
import KbuildRelease

extension Kbuild {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Write a release config (release/kbuild.yaml) for an existing Go workspace.",
            discussion: """
                Asks Go about the workspace: every `package main` (go list ./..., vendor/ and testdata \
                skipped), go.mod's module, go.work's modules, vendor/modules.txt, and a version package — \
                Kubernetes' pkg/version (gitVersion, …), a version.Version/Revision pair, or main.version — \
                and cluster/addons. The config it writes builds every binary for the host platform into \
                client tarballs and loads as it is: `kbuild init && kbuild release` works. Edit it from \
                there. An existing config is kept unless --force. When git does not ignore _output/ yet, \
                /_output/ is added to .gitignore (else every version would be -dirty). --layout picks the \
                archives: Kubernetes' tarballs (the default), or goreleaser's (<project>_<Os>_<arch>.tar.gz, \
                zip on Windows, LICENSE*/README*/CHANGELOG*, checksums.txt; see docs/layouts.md).

                Environment: GO (the go executable, else PATH), KBUILD_GOCACHE (a shared Go build cache).
                """)

        @Option(
            name: [.customShort("C"), .customLong("directory")],
            help: ArgumentHelp("The Go workspace.", valueName: "dir"))
        var directory: String = "."

        @Flag(help: "Replace an existing release/kbuild.yaml.")
        var force = false

        @Option(help: ArgumentHelp("The release layout to start from: kubernetes or goreleaser.", valueName: "name"))
        var layout: StarterLayout = .kubernetes

        @Flag(help: "Print what was found and written as JSON (path, binaries, version).")
        var json = false

        func run() async throws {
            try await failing {
                let result = try await WorkspaceInitializer.initialize(
                    workspace: directory, force: force, layout: layout,
                    environment: ProcessInfo.processInfo.environment)
                if json {
                    let summary: [String: Any] = [
                        "path": result.path, "binaries": result.facts.mains.map(\.name),
                        "version": Self.describe(result.facts.version), "gitignoreUpdated": result.ignoredOutput,
                    ]
                    let data = try JSONSerialization.data(
                        withJSONObject: summary, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(
                        "wrote \(result.path): \(result.facts.mains.count) binaries, version: \(Self.describe(result.facts.version))"
                    )
                    if result.ignoredOutput {
                        print("added /_output/ to .gitignore (kbuild's outputs must not make the tree dirty)")
                    }
                }
            }
        }

        static func describe(_ version: WorkspaceFacts.VersionStyle) -> String {
            switch version {
            case let .kubernetes(package, _): "Kubernetes variables in \(package)"
            case let .variables(list): list.map { "\($0.field.rawValue) -> \($0.target)" }.joined(separator: ", ")
            case .none: "no version variable found (nothing stamped)"
            }
        }
    }
}

extension StarterLayout: ExpressibleByArgument {}
