import ArgumentParser
import Foundation
import KbuildConfig
import KbuildCore
import KbuildImage
import KbuildPublish
import KbuildRelease
import KbuildVerify

extension Kbuild {
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish",
            abstract: "Push a verified release's images to a registry: per-arch images and an OCI index over them.",
            discussion: """
                Verifies DIR (default: <workspace>/_output; its release-tars as `kbuild verify` does) and \
                refuses a release that fails (it needs a registry, an --upload URL, or both). Then, for every \
                binary with images, pushes each architecture's image from \
                _output/release-images/<arch>/<bin>.tar (blobs the registry lacks, then the manifest by \
                digest) and an OCI image index over them, tagged last as <registry>/<bin>:<version with + as \
                _> (or each tag of the config's publish.tags, or of --tag, repeatable), and each architecture's own name (its tarball's RepoTags, <registry>/<bin>-<arch>:<md5>; \
                blobs mounted, not resent). Blobs and manifests the registry has are skipped: a re-run \
                completes an interrupted publish, a repeat pushes nothing. --dry-run prints what \
                would be pushed, by digest, without contacting the registry.

                Blobs go up while the release is verified (content-addressed, they are named by nothing \
                until a manifest is pushed); manifests, the index, tags and uploads wait until it passed. \
                A release that passed verification is recorded (the stat of every file verify reads, \
                kbuild's version, the config's digest) in <workspace>/_output/cache/verified, or \
                ${XDG_CACHE_HOME:-~/.cache}/kbuild/verified for a DIR outside the workspace: publishing it \
                again unchanged skips verification ("verified earlier"); any write to any of its files \
                verifies it again, as does --reverify. A binary whose tags already name the digests the \
                release expects is skipped after one HEAD per tag.

                Environment: KUBE_DOCKER_REGISTRY is the registry when --registry is not given (then the \
                config's publish.registry; --upload defaults to publish.upload). \
                Credentials come from REGISTRY_AUTH_FILE (else ${XDG_RUNTIME_DIR}/containers/auth.json), \
                ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json, then ${DOCKER_CONFIG:-~/.docker}/config.json \
                (their `auths` entries; credential helpers are not run); Basic auth and the Bearer token \
                flow are answered as the registry asks. No credential is ever printed. Over https the \
                certificate is checked against the system's CAs and --ca-file's (else publish.caFile's); \
                libcurl's https_proxy, http_proxy, all_proxy and no_proxy apply.

                --upload URL also PUTs every file of release-tars under URL (Artifactory, Nexus raw, WebDAV): \
                files the server has identical are skipped, SHA512SUMS and SHA256SUMS go last. It sends \
                KBUILD_UPLOAD_TOKEN as a Bearer token, else the netrc entry for its host ($NETRC, else ~/.netrc) \
                as Basic auth.

                While it pushes and uploads, --progress shows the bytes done per image and of the files; \
                --log-format json writes an event per blob, manifest, tag and file, with digests \
                (docs/log-format.md). `kbuild release --publish` runs this after a release, with the same \
                options. \(OutputOptions.environmentHelp)
                """)

        @Argument(help: ArgumentHelp("The release's _output directory.", valueName: "dir"))
        var output: String?

        @Option(
            name: [.customShort("C"), .customLong("directory")],
            help: ArgumentHelp("The workspace (its _output is the default DIR).", valueName: "dir"))
        var workspace: String?

        @OptionGroup var publishing: PublishOptions
        @OptionGroup var reporting: OutputOptions

        @Option(
            name: .customLong("jobs"),
            help: ArgumentHelp("Blobs pushed and files uploaded at once (default 4).", valueName: "n"))
        var jobs: Int = PublishOptions.defaultJobs

        func validate() throws {
            if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        }

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let workspace = Paths.absolute(self.workspace ?? ".")
            let reporter = reporting.reporter(
                command: "publish", workspace: workspace, verbose: false, environment: environment)
            try await reporter.run {
                let output = self.output.map { Paths.absolute($0) } ?? workspace + "/_output"
                // The workspace's config, when it has one, names the defaults (a copied DIR may have none).
                let config =
                    FileManager.default.fileExists(atPath: workspace + "/" + ReleaseConfig.defaultPath)
                    ? try ConfigLoader.load(workspace: workspace) : nil
                let settings = config?.publish ?? ReleaseConfig.Publish()
                let (registry, upload) = try publishing.targets(settings, environment)
                try await Publishing(
                    options: publishing, jobs: jobs, reporter: reporter, environment: environment, settings: settings,
                    project: config?.project ?? ""
                ).run(
                    output: output, workspace: self.output == nil || self.workspace != nil ? workspace : nil,
                    registry: registry, upload: upload)
            }
        }
    }
}
