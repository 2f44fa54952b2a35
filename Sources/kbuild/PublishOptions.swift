import ArgumentParser
import Foundation
import KbuildConfig
import KbuildCore
import KbuildImage
import KbuildPublish
import KbuildVerify

/// Where and how a release is published: `kbuild publish`, and `kbuild release --publish` after a release.
struct PublishOptions: ParsableArguments {
    /// Blobs and files sent at once unless `kbuild publish --jobs` says otherwise.
    static let defaultJobs = 4

    @Option(
        name: .customLong("registry"),
        help: ArgumentHelp(
            "Push the images to host[:port][/path] (default: KUBE_DOCKER_REGISTRY, then the config's publish.registry).",
            valueName: "registry"))
    var registry: String?

    @Option(
        name: .customLong("tls-verify"),
        help: ArgumentHelp(
            "false: do not check the registry's certificate; plain HTTP to a registry without TLS.", valueName: "bool"))
    var tlsVerify: Bool = true

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "Also trust the CA certificates of this PEM file for the registry, its token realm and --upload (default: the config's publish.caFile).",
            valueName: "pem"))
    var caFile: String?

    @Option(
        name: .customLong("tag"),
        help: ArgumentHelp(
            "A tag of each multi-arch index; repeat for more (default: the config's publish.tags, else the release's version, + as _).",
            valueName: "tag"))
    var tag: [String] = []

    @Option(
        name: .customLong("upload"),
        help: ArgumentHelp(
            "Also PUT every file of release-tars under this URL prefix (http(s)://host/path; default: the config's publish.upload).",
            valueName: "url"))
    var upload: String?

    @Flag(name: .customLong("dry-run"), help: "Print what would be pushed and uploaded, by digest; send nothing.")
    var dryRun = false

    @Flag(
        name: .customLong("reverify"),
        help: "Verify the release even when its verification record says it passed unchanged before.")
    var reverify = false

    func validate() throws {
        if let upload {
            let scheme = URLComponents(string: upload)?.scheme
            guard scheme == "http" || scheme == "https", URLComponents(string: upload)?.host != nil else {
                throw ValidationError("--upload \(Escaping.shown(upload)) is not an http(s)://host/path URL")
            }
        }
        if let registry, let problem = ImageName.registryProblem(registry) {
            throw ValidationError("--registry \(Escaping.shown(registry)): \(problem)")
        }
        if let caFile, let problem = CertificateFile.problem(caFile) {
            throw ValidationError(
                "--ca-file \(Escaping.shown(caFile)) \(problem); allowed: a PEM file of CA certificates")
        }
        for tag in tag where !ImageTag.isValid(tag) {
            throw ValidationError(
                "--tag \(Escaping.shown(tag)) is not an OCI tag; allowed: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
        }
    }

    /// How to check servers' certificates: `--tls-verify`, and `--ca-file` else the config's `publish.caFile`.
    func tls(_ settings: ReleaseConfig.Publish) -> TLSOptions {
        TLSOptions(verify: tlsVerify, caFile: caFile ?? settings.caFile)
    }

    /// Whether any option was given: `kbuild release` takes them only with `--publish`.
    var given: Bool {
        registry != nil || !tlsVerify || caFile != nil || !tag.isEmpty || upload != nil || dryRun || reverify
    }

    /// Where to publish: the options, KUBE_DOCKER_REGISTRY, then the config's `publish` section.
    func targets(_ settings: ReleaseConfig.Publish, _ environment: [String: String]) throws
        -> (registry: String?, upload: String?)
    {
        let registry = try Self.registry(registry, environment) ?? settings.registry
        let upload = upload ?? settings.upload
        guard registry != nil || upload != nil else {
            throw ValidationError(
                "nothing to publish to; allowed: --registry (or KUBE_DOCKER_REGISTRY) for the images, --upload for the release files, or both"
            )
        }
        return (registry, upload)
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
}

/// One publish of a release's `_output` directory, reporting through the command's reporter.
struct Publishing {
    let options: PublishOptions
    /// Blobs and files sent at once.
    let jobs: Int
    let reporter: Reporter
    let environment: [String: String]
    /// The config's `publish` section (its `caFile` and `tags`).
    var settings = ReleaseConfig.Publish()
    /// The config's `project`, for `{{project}}` in `publish.tags` (without a config there are no templates).
    var project = ""

    /// Verifies `output` (the workspace's git checks when `workspace` is given) while blobs go up, then
    /// pushes the manifests and tags and uploads.
    /// The last summary line is the command's `result`.
    func run(output: String, workspace: String?, registry: String?, upload: String?) async throws {
        var summary = GitHubActions.PublishSummary()
        var lines: [String] = []
        try await whileVerifying(output: output, workspace: workspace) { verified in
            if let registry {
                let (publications, line) = try await publishImages(
                    output: output, registry: registry, verified: verified)
                summary.images = publications
                summary.host = PublishRegistry(registry).host
                lines += line.map { [$0] } ?? []
            }
        }
        if let upload {
            let (files, line) = try await uploadFiles(output: output, to: upload)
            summary.files = files
            lines += line.map { [$0] } ?? []
        }
        if !options.dryRun { reporter.github?.summarize(publish: summary, command: reporter.command) }
        for line in lines.dropLast() { reporter.say(line) }
        reporter.result(lines.last ?? "dry run: nothing was sent")
    }

    /// Runs `kbuild verify`'s checks on `<output>/release-tars`; a failure stops the publish.
    func verify(output: String, workspace: String?) async throws {
        let report = try await ReleaseVerifier(
            directory: output + "/release-tars", workspace: workspace, jobs: WorkspaceOptions.cores
        ).verify()
        guard report.passed else {
            throw PublishError.unverified(directory: output, failures: report.failures.map(\.line))
        }
        reporter.verified(
            output, checks: report.checks.count, message: "verified: \(report.checks.count) checks passed")
    }

    /// Pushes the images; their summary line (nil for a dry run). `verified` returns once the release
    /// passed verification (it throws when it failed): blobs go up before, manifests and tags after.
    func publishImages(output: String, registry: String, verified: @Sendable () async throws -> Void = {})
        async throws -> ([ImagePublication], String?)
    {
        let version = ReleaseVerifier.recordedVersion(directory: output + "/release-tars")
        let tags = Self.tags(given: options.tag, settings: settings, project: project, version: version)
        guard let tags else { throw PublishError.noVersion(directory: output + "/release-tars") }
        let target = PublishRegistry(registry)
        // With --tls-verify=false the registry's scheme is probed (a TLS handshake tried): while the images
        // are read, not after.
        let connecting = try options.dryRun ? nil : connect(target.host)
        let publications = try ImagePublication.plan(output: output, registry: target, tags: tags)
        guard let connecting else {
            try await verified()
            for line in ImagePublisher.dryRun(publications, host: target.host) { reporter.planned(line) }
            return (publications, nil)
        }
        let client = try await connecting.value
        let reporter = self.reporter
        let summary = try await ImagePublisher(client: client, jobs: jobs).push(publications, gate: verified) {
            reporter.published($0)
        }
        return (
            publications,
            "published \(publications.count) images to \(registry): \(summary.blobsPushed) blobs pushed (\(summary.bytesPushed) bytes), \(summary.blobsMounted) mounted, \(summary.blobsPresent) present; \(summary.manifestsPushed) manifests pushed, \(summary.manifestsPresent) present; \(summary.tagsSet) tags set, \(summary.tagsPresent) unchanged"
        )
    }

    /// Each binary's index tags: `--tag`s, else the config's `publish.tags` rendered, else the version tag;
    /// nil when they need the version and the release records none.
    static func tags(given: [String], settings: ReleaseConfig.Publish, project: String, version: String?)
        -> ((String) -> [String])?
    {
        if !given.isEmpty { return { _ in given } }
        guard let version else { return nil }
        guard let templates = settings.tags else { return { _ in [ImagePublication.tag(version: version)] } }
        return { ReleaseConfig.Publish.render(templates, project: project, version: version, binary: $0) }
    }

    /// A client of `host` with the auth files' credential for it, connecting (the scheme probed) meanwhile.
    func connect(_ host: String) throws -> Task<RegistryClient, any Error> {
        let credential = try ContainerAuthFiles.credential(for: host, environment: environment)
        let tls = options.tls(settings)
        return Task { try await RegistryClient.connecting(host: host, tls: tls, credential: credential) }
    }

    /// Uploads the release files; (URL, local path) of each, and the summary line (nil for a dry run).
    func uploadFiles(output: String, to prefix: String) async throws -> ([(url: String, path: String)], String?) {
        let directory = output + "/release-tars"
        let names = try ReleaseUploader.files(in: directory)
        let trimmed = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        if options.dryRun {
            for name in names { reporter.planned("upload   \(trimmed)/\(name)") }
            return ([], nil)
        }
        let components = URLComponents(string: prefix)
        let host = components?.host.map { host in components?.port.map { "\(host):\($0)" } ?? host }
        let authorization = try host.flatMap {
            try UploadCredentials.authorization(for: $0, environment: environment)
        }
        // --tls-verify is the registry's; the upload target's certificate is always checked.
        let uploader = ReleaseUploader(
            prefix: prefix, authorization: authorization, jobs: jobs,
            tls: TLSOptions(caFile: options.tls(settings).caFile))
        let reporter = self.reporter
        let (uploaded, skipped) = try await uploader.upload(directory) { reporter.published($0) }
        return (
            names.map { (trimmed + "/" + $0, directory + "/" + $0) },
            "uploaded \(uploaded.count) files to \(prefix), \(skipped.count) already there"
        )
    }
}
