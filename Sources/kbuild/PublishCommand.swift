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
                _>, and each architecture's own name (its tarball's RepoTags, <registry>/<bin>-<arch>:<md5>; \
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
                flow are answered as the registry asks. No credential is ever printed.

                --upload URL also PUTs every file of release-tars under URL (Artifactory, Nexus raw, WebDAV): \
                files the server has identical are skipped, SHA512SUMS and SHA256SUMS go last. It sends \
                KBUILD_UPLOAD_TOKEN as a Bearer token, else the netrc entry for its host ($NETRC, else ~/.netrc) \
                as Basic auth.
                """)

        @Argument(help: ArgumentHelp("The release's _output directory.", valueName: "dir"))
        var output: String?

        @Option(
            name: [.customShort("C"), .customLong("directory")],
            help: ArgumentHelp("The workspace (its _output is the default DIR).", valueName: "dir"))
        var workspace: String?

        @Option(
            name: .customLong("registry"),
            help: ArgumentHelp("Push to host[:port][/path] (default: KUBE_DOCKER_REGISTRY).", valueName: "registry"))
        var registry: String?

        @Option(
            name: .customLong("tls-verify"),
            help: ArgumentHelp("false: talk plain HTTP to the registry (a local test registry).", valueName: "bool"))
        var tlsVerify: Bool = true

        @Option(
            name: .customLong("tag"),
            help: ArgumentHelp("The multi-arch tag (default: the release's version, + as _).", valueName: "tag"))
        var tag: String?

        @Option(
            name: .customLong("upload"),
            help: ArgumentHelp(
                "Also PUT every file of release-tars under this URL prefix (http(s)://host/path).", valueName: "url"))
        var upload: String?

        @Flag(name: .customLong("dry-run"), help: "Print what would be pushed, by digest; push nothing.")
        var dryRun = false

        @Flag(
            name: .customLong("reverify"),
            help: "Verify the release even when its verification record says it passed unchanged before.")
        var reverify = false

        @Option(name: .customLong("jobs"), help: ArgumentHelp("Blobs pushed at once (default 4).", valueName: "n"))
        var jobs: Int = 4

        func validate() throws {
            if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
            if let upload {
                let scheme = URLComponents(string: upload)?.scheme
                guard scheme == "http" || scheme == "https", URLComponents(string: upload)?.host != nil else {
                    throw ValidationError("--upload \(Escaping.shown(upload)) is not an http(s)://host/path URL")
                }
            }
            if let registry, let problem = ImageName.registryProblem(registry) {
                throw ValidationError("--registry \(Escaping.shown(registry)): \(problem)")
            }
        }

        func run() async throws {
            try await failing {
                let environment = ProcessInfo.processInfo.environment
                let workspace = ReleaseLoader.absoluteWorkspace(self.workspace ?? ".")
                let output = output.map { ReleaseLoader.absoluteWorkspace($0) } ?? workspace + "/_output"
                // The workspace's config, when it has one, names the defaults (a copied DIR may have none).
                let settings =
                    FileManager.default.fileExists(atPath: workspace + "/" + ReleaseConfig.defaultPath)
                    ? try ConfigLoader.load(workspace: workspace).publish : ReleaseConfig.Publish()
                let registry = try Self.registry(registry, environment) ?? settings.registry
                let upload = upload ?? settings.upload
                guard registry != nil || upload != nil else {
                    throw ValidationError(
                        "nothing to publish to; allowed: --registry (or KUBE_DOCKER_REGISTRY) for the images, --upload for the release files, or both"
                    )
                }
                try await Self.whileVerifying(
                    output: output, workspace: self.output == nil || self.workspace != nil ? workspace : nil,
                    configWorkspace: workspace, reverify: reverify, environment
                ) { verified in
                    if let registry {
                        try await publishImages(output: output, registry: registry, environment, verified: verified)
                    }
                }
                if let upload { try await uploadFiles(output: output, to: upload, environment) }
            }
        }

        /// `verified` returns once the release passed verification (it throws when it failed): blobs go up
        /// before, manifests and tags after.
        func publishImages(
            output: String, registry: String, _ environment: [String: String],
            verified: @Sendable () async throws -> Void = {}
        ) async throws {
            guard
                let tag = tag
                    ?? ReleaseVerifier.recordedVersion(directory: output + "/release-tars").map(
                        ImagePublication.tag(version:))
            else { throw PublishError.noVersion(directory: output + "/release-tars") }
            let target = PublishRegistry(registry)
            let publications = try ImagePublication.plan(output: output, registry: target, tag: tag)
            if dryRun {
                try await verified()
                for line in ImagePublisher.dryRun(publications, host: target.host) { print(line) }
                return
            }
            let credential = try ContainerAuthFiles.credential(for: target.host, environment: environment)
            let client = RegistryClient(host: target.host, plainHTTP: !tlsVerify, credential: credential)
            let summary = try await ImagePublisher(client: client, jobs: jobs).push(publications, gate: verified) {
                print($0)
            }
            print(
                "published \(publications.count) images to \(registry): \(summary.blobsPushed) blobs pushed (\(summary.bytesPushed) bytes), \(summary.blobsMounted) mounted, \(summary.blobsPresent) present; \(summary.manifestsPushed) manifests pushed, \(summary.manifestsPresent) present; \(summary.tagsSet) tags set, \(summary.tagsPresent) unchanged"
            )
        }

        func uploadFiles(output: String, to prefix: String, _ environment: [String: String]) async throws {
            let directory = output + "/release-tars"
            if dryRun {
                for name in try ReleaseUploader.files(in: directory) { print("upload   \(prefix)/\(name)") }
                return
            }
            let components = URLComponents(string: prefix)
            let host = components?.host.map { host in components?.port.map { "\(host):\($0)" } ?? host }
            let authorization = try host.flatMap {
                try UploadCredentials.authorization(for: $0, environment: environment)
            }
            let uploader = ReleaseUploader(prefix: prefix, authorization: authorization, jobs: jobs)
            let (uploaded, skipped) = try await uploader.upload(directory) { print($0) }
            print("uploaded \(uploaded.count) files to \(prefix), \(skipped.count) already there")
        }

        /// `--registry`, else `KUBE_DOCKER_REGISTRY`; checked like the config's `images.registry`.
        static func registry(_ given: String?, _ environment: [String: String]) throws -> String? {
            if let given { return given }
            guard let value = environment["KUBE_DOCKER_REGISTRY"], !value.isEmpty else { return nil }
            if let problem = ImageName.registryProblem(value) {
                throw ValidationError("KUBE_DOCKER_REGISTRY \(Escaping.shown(value)): \(problem)")
            }
            return value
        }

        /// Runs `kbuild verify`'s checks on `<output>/release-tars`; a failure stops the publish.
        static func verify(output: String, workspace: String?) async throws {
            let report = try await ReleaseVerifier(
                directory: output + "/release-tars", workspace: workspace, jobs: WorkspaceOptions.cores
            ).verify()
            guard report.passed else {
                throw PublishError.unverified(directory: output, failures: report.failures.map(\.line))
            }
            print("verified: \(report.checks.count) checks passed")
        }
    }
}
