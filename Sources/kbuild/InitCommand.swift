import ArgumentParser
import Foundation
import KbuildCore
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
                zip on Windows, LICENSE*/README*/CHANGELOG*, checksums.txt; see docs/layouts.md). With \
                --archive-version it also writes .kbuild-archive-version and its `export-subst` line in \
                .gitattributes: a `git archive` of a tag then unpacks to a tree whose version is that tag \
                (tree state archive), as Kubernetes' hack/lib/version.sh placeholders do (kept when present).

                Environment: GO (the go executable, else PATH), KBUILD_GOCACHE (a shared Go build cache). \
                \(OutputOptions.environmentHelp)
                """)

        @Option(
            name: [.customShort("C"), .customLong("directory")],
            help: ArgumentHelp("The Go workspace.", valueName: "dir"))
        var directory: String = "."

        @Flag(help: "Replace an existing release/kbuild.yaml.")
        var force = false

        @Option(help: ArgumentHelp("The release layout to start from: kubernetes or goreleaser.", valueName: "name"))
        var layout: StarterLayout = .kubernetes
        @Flag(
            help:
                "Also write .kbuild-archive-version (export-subst in .gitattributes), so an unpacked git archive of a tag knows its version."
        )
        var archiveVersion = false

        @Flag(help: "Print what was found and written as one JSON document (path, binaries, version).")
        var json = false

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let reporter = output.reporter(
                command: "init", workspace: Paths.absolute(directory), verbose: false,
                environment: environment)
            try await reporter.run {
                let result = try await WorkspaceInitializer.initialize(
                    workspace: directory, force: force, layout: layout, archiveVersion: archiveVersion,
                    environment: environment)
                if json && !reporter.json {
                    let summary: [String: Any] = [
                        "path": result.path, "binaries": result.facts.released.map(\.name),
                        "tools": result.facts.mains.filter { !result.facts.released.contains($0) }.map(\.name),
                        "notProposed": result.facts.dropped, "namesReadFrom": result.facts.namesRead,
                        "version": Self.describe(result.facts.version), "gitignoreUpdated": result.ignoredOutput,
                        "archiveVersionFile": result.archiveStamp,
                    ]
                    let data = try JSONSerialization.data(
                        withJSONObject: summary, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    reporter.result(lines: lines(result))
                }
            }
        }

        /// What `kbuild init` says it found and wrote, the config's path first.
        func lines(
            _ result: (path: String, text: String, facts: WorkspaceFacts, ignoredOutput: Bool, archiveStamp: Bool)
        ) -> [String] {
            let facts = result.facts
            var lines = [
                "wrote \(result.path): \(facts.released.count) binaries, version: \(Self.describe(facts.version))"
            ]
            let tools = facts.mains.filter { !facts.released.contains($0) }
            if !tools.isEmpty {
                lines.append(
                    "left commented out: \(tools.map(\.directory).joined(separator: ", ")) (tools under hack/, tools/, test/, examples/)"
                )
            }
            for main in facts.released where main.nameSource != nil {
                lines.append("named \(main.name) as \(main.nameSource ?? "") builds \(main.directory)")
            }
            if !facts.namesRead.isEmpty {
                lines.append("read for binary names: \(facts.namesRead.joined(separator: ", "))")
            }
            for line in facts.dropped { lines.append("not proposed: \(Escaping.oneLine(line))") }
            if result.ignoredOutput {
                lines.append("added /_output/ to .gitignore (kbuild's outputs must not make the tree dirty)")
            }
            if result.archiveStamp {
                lines.append(
                    "wrote .kbuild-archive-version (export-subst in .gitattributes): a git archive of a tag knows its version"
                )
            } else if !archiveVersion,
                !WorkspaceInitializer.carriesArchivePlaceholders(Paths.parent(of: Paths.parent(of: result.path)))
            {
                lines.append(
                    "tip: kbuild init --archive-version lets a git archive of a tag know its version (.kbuild-archive-version)"
                )
            }
            return lines
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
