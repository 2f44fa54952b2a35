import ArgumentParser
import Foundation
import KbuildConfig
import KbuildCore
import KbuildDigest
import KbuildRelease

extension Kbuild {
    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Build, wrap images, stage and pack the release tarballs with checksums.",
            discussion: """
                version → build → images → stage → pack → sbom → checksums → provenance → publish, into \
                _output/release-stage and _output/release-tars (SHA256SUMS, SHA512SUMS, \
                <file>.sha256/.sha512, artifacts.json). \
                Every byte is reproducible: timestamps come from SOURCE_DATE_EPOCH, else the HEAD commit \
                time. Outputs are written beside their targets and swapped into place at the end, so a \
                failed or interrupted release leaves the previous release-tars untouched. Two releases on \
                one _output never interleave (a lock). Outputs whose inputs did not change are reused.

                Split across machines: `kbuild release --shard I/N` on N machines builds a deterministic \
                slice (whole platforms where possible) into _output/shards/<I>-of-<N>/ with a shard.json; \
                `kbuild release --merge DIR…` on one machine checks that the shards are of this commit and \
                config, cover the plan exactly once and hold what they say, then packs a release \
                byte-identical to one made on one machine.

                Supply-chain documents: <project>.spdx.json (SPDX 2.3 SBOM, listed in the sums) and \
                <project>.intoto.jsonl (in-toto/SLSA v1 provenance over every file in SHA256SUMS). With \
                --sign-key or KBUILD_SIGN_KEY (an Ed25519 PEM private key), the provenance is a DSSE \
                envelope and SHA256SUMS.sig holds the raw Ed25519 signature of SHA256SUMS.

                With --publish, the release is then published as `kbuild publish` does it (verified, images \
                pushed, files uploaded; see `kbuild publish --help` for where to and the credentials); a \
                failed publish leaves the release complete and intact and its error says so.

                \(EnvironmentHelp.workspace) KBUILD_SIGN_KEY names the signing key.

                \(OutputOptions.environmentHelp)

                \(RemoteCacheOptions.discussion)
                """)

        @OptionGroup var workspace: WorkspaceOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var sandbox: SandboxOption
        @OptionGroup var shard: ShardOption

        @Option(
            name: .customLong("merge"), parsing: .upToNextOption,
            help: ArgumentHelp(
                "Release from the shard directories that `kbuild release --shard I/N` wrote on other machines (_output/shards/<I>-of-<N>): checked, then staged, packed and summed.",
                valueName: "dir"))
        var merge: [String] = []
        @OptionGroup var remote: RemoteCacheOptions

        @Flag(name: .customLong("skip-build"), help: "Package the binaries already in _output/local/bin.")
        var skipBuild = false

        @Option(
            name: .customLong("sign-key"),
            help: ArgumentHelp(
                "Sign the provenance and SHA256SUMS with this Ed25519 private key (PEM, unencrypted; default: $KBUILD_SIGN_KEY).",
                valueName: "file"))
        var signKey: String?

        @Flag(
            name: .customLong("publish"),
            help:
                "Then publish the release as `kbuild publish` does (verified first): to --registry, --upload, or the config's publish section."
        )
        var publish = false
        @OptionGroup(title: "Publishing (with --publish)") var publishing: PublishOptions

        /// A usage error (exit 64), found before the workspace is read.
        func validate() throws {
            if shard.shard != nil, !merge.isEmpty {
                throw ValidationError(
                    "--merge given with --shard; allowed: --shard I/N on each of N machines, then --merge DIR… on one")
            }
            if publish, shard.shard != nil {
                throw ValidationError(
                    "--publish given with --shard; allowed: --publish on the machine that runs --merge, or alone")
            }
            if !publish, publishing.given {
                throw ValidationError(
                    "--registry, --upload, --tag, --tls-verify and --dry-run say where --publish sends the release; allowed: add --publish, or run kbuild publish after the release"
                )
            }
            if skipBuild, !merge.isEmpty {
                throw ValidationError(
                    "--skip-build given with --merge; allowed: one of them (--merge takes the binaries from the shards)"
                )
            }
        }

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let reporter = workspace.reporter("release", output, environment)
            try await reporter.run {
                // The key is read first: a bad key is an error before any work starts.
                let keyFile = signKey ?? environment["KBUILD_SIGN_KEY"].flatMap { $0.isEmpty ? nil : $0 }
                let key = try keyFile.map { try Ed25519PrivateKey(pemFile: $0) }
                if let keyFile, let exposure = Ed25519PrivateKey.exposure(of: keyFile) { reporter.warning(exposure) }
                try await workspace.withLoaded(environment, digestSources: true, warn: reporter.warning) { loaded in
                    var options = workspace.releaseOptions(environment, sandbox: sandbox.sandbox, output: output)
                    options.skipBuild = skipBuild
                    options.proof = ProofOptions(
                        signingKey: key, environment: environment,
                        configFile: workspace.location.configFile ?? loaded.plan.workspace + "/"
                            + ReleaseConfig.defaultPath,
                        toolVersion: Kbuild.configuration.version)
                    try remote.apply(to: &options, plan: loaded.plan, environment: environment)
                    // Where to publish is settled before any work: nowhere to publish is a usage error.
                    let targets = try publish ? publishing.targets(loaded.plan.config.publish, environment) : nil
                    reporter.expect(builds: loaded.plan.builds.count)
                    let pipeline = ReleasePipeline(loaded, options: options)
                    if let spec = try shard.spec() {
                        let directory = try await pipeline.shard(spec) { reporter.handle($0) }
                        reporter.result("shard \(spec) of \(loaded.plan.version.version): \(directory)")
                        return
                    }
                    let artifacts =
                        try await merge.isEmpty
                        ? pipeline.release { reporter.handle($0) }
                        : pipeline.merge(merge.map { Paths.absolute($0) }) { reporter.handle($0) }
                    if let remote = options.remoteCache { reporter.say(remote.summary) }
                    let tarballs = artifacts.filter { $0.kind != .image && $0.kind != .sbom }.count
                    reporter.released(
                        artifacts, plan: loaded.plan,
                        message:
                            "release \(loaded.plan.version.version): \(tarballs) tarballs in \(loaded.plan.layout.releaseTars)",
                        last: targets == nil)
                    if let targets { try await publishRelease(loaded.plan, to: targets, reporter, environment) }
                }
            }
        }

        /// Publishes the release just made; a failure says that the release itself is complete and intact.
        func publishRelease(
            _ plan: ReleasePlan, to targets: (registry: String?, upload: String?), _ reporter: Reporter,
            _ environment: [String: String]
        ) async throws {
            do {
                try await Publishing(
                    options: publishing, jobs: PublishOptions.defaultJobs, reporter: reporter, environment: environment,
                    settings: plan.config.publish, project: plan.config.project
                ).run(
                    output: plan.layout.root, workspace: plan.workspace, registry: targets.registry,
                    upload: targets.upload)
            } catch {
                throw PublishAfterRelease(version: plan.version.version, directory: plan.layout.releaseTars, error)
            }
        }
    }
}

/// `kbuild release --publish`: the release was made, its publish failed.
struct PublishAfterRelease: Error, CustomStringConvertible {
    let version: String
    let directory: String
    let failure: any Error

    init(version: String, directory: String, _ failure: any Error) {
        (self.version, self.directory, self.failure) = (version, directory, failure)
    }

    var description: String {
        let first = "\(failure)".split(separator: "\n").first.map(String.init) ?? "\(failure)"
        return
            "publish: \(first); release \(version) itself is complete and intact in \(Escaping.shown(directory)): publish it again with kbuild publish"
    }
}
