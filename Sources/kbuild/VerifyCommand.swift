import ArgumentParser
import Foundation
import KbuildArtifact
import KbuildConfig
import KbuildCore
import KbuildDigest
import KbuildImage
import KbuildPublish
import KbuildRelease
import KbuildVerify

extension Kbuild {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract:
                "Check a release offline: checksums, layout, binaries, images, sources, SBOM, provenance, signatures.",
            discussion: """
                Checks DIR (default: <workspace>/_output/release-tars) and prints one line per check, ok or FAIL \
                with what and where; exit status 1 when any check fails. SHA256SUMS, SHA512SUMS and every \
                <file>.sha256/.sha512 must match, with no file missing or extra; every tarball must open and \
                hold what artifacts.json and the release layout say; every Go binary must be the format and \
                architecture of its platform and carry the release version; every image tarball (in server \
                tarballs and in _output/release-images) must have matching blob digests, architecture, RepoTags \
                and md5 tag. With the workspace's git repository, <project>-src.tar.gz must hold exactly the \
                files git tracks at the release commit. The SBOM (<project>.spdx.json) and provenance \
                (<project>.intoto.jsonl), when present, must name exactly the files and digests of SHA256SUMS; \
                with --key, the DSSE envelope and SHA256SUMS.sig must verify. Entries of one tarball failing \
                a check the same way are listed up to 20, then counted; an image tarball over 512 MiB is \
                refused before it is read. With --registry, each tag of every \
                image's multi-arch index (the config's publish.tags, else the version) must resolve in that registry to the index digest the release records, and \
                every architecture's manifest must be there by digest (credentials, --ca-file and proxies as for `kbuild publish`).

                With a release config (--config, else <workspace>/release/kbuild.yaml), verify plans the \
                release again and the directory must hold exactly the plan's files and entries; a config that \
                does not load fails verify.

                --rebuild releases the release commit again in a fresh temporary clone (another path, TZ, \
                umask, locale and HOME, an empty kbuild cache) and compares it byte for byte with DIR; a \
                difference is explained as `kbuild diff` does. It honours KBUILD_GOCACHE (a shared Go build \
                cache: content-addressed, so it cannot change a byte), GO and TMPDIR (where the clone goes).

                --log-format json prints one `check` event per check and a `result` (docs/log-format.md); \
                --json prints the whole report as one document instead (not both).

                \(OutputOptions.environmentHelp)
                """)

        @Argument(help: ArgumentHelp("The release directory.", valueName: "dir"))
        var releaseDirectory: String?

        @OptionGroup var location: LocationOptions

        @Option(
            name: .customLong("key"),
            help: ArgumentHelp("Verify the signatures with this Ed25519 public key (PEM).", valueName: "pub"))
        var key: String?

        @Flag(
            name: .customLong("rebuild"),
            help: "Also rebuild the release commit in a fresh clone and compare byte for byte.")
        var rebuild = false

        @Option(
            name: .customLong("registry"),
            help: ArgumentHelp(
                "Also check that every image of the release resolves in this registry (host[:port][/path]) to the digests the release records.",
                valueName: "registry"))
        var registry: String?

        @Option(
            name: .customLong("tls-verify"),
            help: ArgumentHelp(
                "false: do not check --registry's certificate; plain HTTP to a registry without TLS (default: true).",
                valueName: "bool"))
        var tlsVerify: Bool?

        @Option(
            name: .customLong("ca-file"),
            help: ArgumentHelp(
                "Also trust the CA certificates of this PEM file for --registry and its token realm.", valueName: "pem")
        )
        var caFile: String?

        @Flag(name: .customLong("json"), help: "Print the report as JSON.")
        var json = false

        @OptionGroup var output: OutputOptions

        @OptionGroup var jobs: JobsOption

        /// Usage errors (exit 64), found before the release is read: a bad registry, options that need another.
        func validate() throws {
            if let registry, let problem = ImageName.registryProblem(registry) {
                throw ValidationError("--registry \(Escaping.shown(registry)): \(problem)")
            }
            if tlsVerify != nil, registry == nil {
                throw ValidationError(
                    "--tls-verify given without --registry; allowed: --tls-verify with --registry HOST")
            }
            if json, output.logFormat == .json {
                throw ValidationError(
                    "--json given with --log-format json; allowed: one of them (--json: one report document, --log-format json: one event per line)"
                )
            }
            if caFile != nil, registry == nil {
                throw ValidationError("--ca-file given without --registry; allowed: --ca-file with --registry HOST")
            }
            if let caFile, let problem = CertificateFile.problem(caFile) {
                throw ValidationError(
                    "--ca-file \(Escaping.shown(caFile)) \(problem); allowed: a PEM file of CA certificates")
            }
        }

        func run() async throws {
            let workspace = location.workspace
            let reporter = output.reporter(
                command: "verify", workspace: workspace, verbose: false,
                environment: ProcessInfo.processInfo.environment)
            try await reporter.run {
                let directory =
                    releaseDirectory.map { Paths.absolute($0) }
                    ?? workspace + "/_output/release-tars"
                let publicKey = try key.map { try Ed25519PublicKey(pemFile: $0) }
                var verifier = ReleaseVerifier(
                    directory: directory, workspace: workspace, key: publicKey, jobs: jobs.count)
                let plan = try await plan(directory: directory)
                if let plan {
                    verifier.layout = plan.releaseLayout
                    let fields = Set(plan.config.version.stamp.assignments.map(\.field))
                    verifier.stamped =
                        fields.contains(.version) ? .version : fields.contains(.bareVersion) ? .bareVersion : .none
                }
                // The rebuild (mostly Go builds in the clone) runs while the offline checks run.
                let json = self.json || reporter.json
                let rebuilding: Task<DiffReport, any Error>? =
                    rebuild
                    ? Task {
                        try await ReleaseRebuilder(
                            workspace: workspace, directory: directory, kbuild: Self.executable,
                            environment: ProcessInfo.processInfo.environment
                        ).rebuild { line in
                            if !json { FileHandle.standardError.write(Data("rebuild: \(line)\n".utf8)) }
                        }.0
                    } : nil
                let report: VerifyReport
                do {
                    report = try await verifier.verify()
                } catch {
                    rebuilding?.cancel()
                    _ = try? await rebuilding?.value
                    throw error
                }
                if !self.json {
                    for check in report.checks { reporter.check(check) }
                    let failed = report.failures.count
                    reporter.result(
                        failed == 0
                            ? "verified: \(report.checks.count) checks passed"
                            : "verify failed: \(failed) of \(report.checks.count) checks")
                }
                let rebuilt = try await rebuilding?.value
                if self.json {
                    // {"rebuild": <diff report>, "verify": <verify report>} with --rebuild, else the verify report.
                    struct Rebuilt: Encodable {
                        var rebuild: DiffReport
                        var verify: VerifyReport
                    }
                    print(rebuilt.map { ReportJSON.text(Rebuilt(rebuild: $0, verify: report)) } ?? report.json())
                } else if let rebuilt, reporter.json {
                    reporter.check(
                        VerifyCheck(
                            rebuilt.identical ? .ok : .fail, "rebuild", rebuilt.b,
                            rebuilt.identical ? "byte-identical to \(directory)" : "differs from \(directory)"))
                } else if let rebuilt {
                    if rebuilt.identical {
                        print("ok   rebuild    \(rebuilt.b): byte-identical to \(directory)")
                    } else {
                        print("FAIL rebuild    \(rebuilt.b): differs from \(directory):")
                        print(rebuilt.table(), terminator: "")
                    }
                }
                var registryPassed = true
                if let registry {
                    let checks = try await RegistryCheck.run(
                        output: Paths.parent(of: directory), registry: registry,
                        tls: TLSOptions(verify: tlsVerify ?? true, caFile: caFile),
                        settings: plan?.config.publish ?? .init(), project: plan?.config.project ?? "")
                    if !json { for check in checks { print(check.line) } }
                    registryPassed = !checks.contains { $0.status == .fail }
                }
                if !report.passed || rebuilt?.identical == false || !registryPassed { throw ExitCode.failure }
            }
        }

        /// The plan of the workspace's release config (`--config`, else release/kbuild.yaml when there is one),
        /// which names every archive, entry and side file; a config that does not load fails verify rather
        /// than dropping the checks it would give. Planned with the KUBE_* variables the release was made
        /// with, not those of this shell.
        func plan(directory: String) async throws -> ReleasePlan? {
            let file = location.configFile ?? location.workspace + "/" + ReleaseConfig.defaultPath
            guard location.config != nil || FileManager.default.fileExists(atPath: file) else { return nil }
            let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KUBE_") }
                .merging(ReleaseRebuilder.releaseEnvironment(directory: directory)) { $1 }
            return try await ReleaseLoader.load(
                workspace: location.workspace, configPath: location.configFile, environment: environment, warn: warning
            ).plan
        }

        /// This kbuild, to run it again for the rebuild: /proc/self/exe, else argv[0] resolved.
        static var executable: String {
            if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                return resolved
            }
            return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        }
    }
}
