import Foundation
import KbuildArchive
import KbuildConfig
import KbuildCore
import KbuildDigest
import KbuildGo
import KbuildImage
import KbuildVersion

/// How a release runs (not what it produces: that is the plan).
public struct ReleaseOptions: Sendable {
    /// Concurrent builds, images and tarballs.
    public var jobs: Int
    /// Package the binaries already in `_output/local/bin` instead of building.
    public var skipBuild: Bool
    public var sandbox: SandboxMode
    /// gzip level of the release tarballs.
    public var compressionLevel: Int
    /// A Go build cache shared across workspaces (Go's cache is content-addressed); nil: `_output/local/go`.
    public var goCache: String?

    public init(
        jobs: Int = ProcessInfo.processInfo.activeProcessorCount, skipBuild: Bool = false,
        sandbox: SandboxMode = .auto, compressionLevel: Int = 6, goCache: String? = nil
    ) {
        self.jobs = max(1, jobs)
        self.skipBuild = skipBuild
        self.sandbox = sandbox
        self.compressionLevel = compressionLevel
        self.goCache = goCache
    }
}

/// One file of the release, as listed in `artifacts.json`.
public struct Artifact: Codable, Sendable, Hashable {
    /// File name, e.g. `kubernetes-server-linux-amd64.tar.gz`.
    public var name: String
    /// Path relative to `_output`.
    public var path: String
    /// `client`, `server`, `node`, `test`, `full`, `src`, `manifests` or `image`.
    public var kind: String
    public var os: String?
    public var arch: String?
    public var size: Int64
    public var sha256: String
    /// The image reference for image tarballs.
    public var image: String?
}

/// One image tarball of the release, as written now or reused from an earlier run.
public struct BuiltImage: Codable, Sendable, Hashable {
    /// `<registry>/<bin>-<arch>:<tag>` first, then the legacy name if configured.
    public var repoTags: [String]
    public var tag: String
    /// `_output/release-images/<arch>/<bin>.tar`.
    public var tarball: String
    public var size: Int64
    /// Hex sha256 of the tarball.
    public var sha256: String
}

/// What the pipeline reports while it runs.
public enum ReleaseEvent: Sendable {
    case stepStarted(String)
    case stepFinished(String, seconds: Double, summary: String)
    case build(GoBuildEvent)
    /// A binary whose inputs did not change since it was built.
    case buildReused(GoBuildTarget)
    case image(BuiltImage, reused: Bool)
    case tarball(name: String, size: Int64)
    /// Nothing the tarballs depend on changed: the previous release-tars stand.
    case packageReused
}

/// Executes a `ReleasePlan`: build → images → stage → package → checksums.
/// Each step writes beside its target and renames into place; a step whose inputs did not change
/// since the last run reuses its outputs (see `OutputCache`).
public struct ReleasePipeline: Sendable {
    public let plan: ReleasePlan
    public let options: ReleaseOptions
    public let toolchain: GoToolchain?
    public let runner: any ProcessRunner
    let cache: OutputCache

    public init(
        plan: ReleasePlan, options: ReleaseOptions, toolchain: GoToolchain?,
        runner: any ProcessRunner = SubprocessRunner()
    ) {
        self.plan = plan
        self.options = options
        self.toolchain = toolchain
        self.runner = runner
        self.cache = OutputCache(directory: plan.layout.cache)
    }

    public typealias Progress = @Sendable (ReleaseEvent) -> Void

    /// The whole release, under the `_output` lock.
    public func release(progress: @escaping Progress = { _ in }) async throws -> [Artifact] {
        let lock = try OutputLock(path: plan.layout.lockFile)
        defer { withExtendedLifetime(lock) {} }
        removeLeftovers()
        let sources = try sourceDigest()
        if !options.skipBuild { try await build(sources: sources, progress: progress) }
        let images = try await writeImages(progress: progress)
        return try await package(images: images, sources: sources, progress: progress)
    }

    /// Step 1: every binary for every platform (standalone: `kbuild build`).
    public func build(progress: @escaping Progress = { _ in }) async throws {
        let lock = try OutputLock(path: plan.layout.lockFile)
        defer { withExtendedLifetime(lock) {} }
        removeLeftovers()
        try await build(sources: try sourceDigest(), progress: progress)
    }

    private func build(sources: String, progress: @escaping Progress) async throws {
        guard let toolchain else {
            // Planning tolerates a missing Go; building does not: rethrow why it was not found (PATH searched, $GO).
            _ = try await GoToolchain.locate(runner: runner, environment: ProcessInfo.processInfo.environment)
            throw ReleaseError.missingInput(path: "go", what: "Go toolchain")
        }
        let start = Date()
        progress(.stepStarted("build"))
        let settings = GoBuildSettings(
            workspace: plan.workspace, goState: plan.layout.goState,
            ldflags: plan.versionLDFlags + plan.config.go.ldflags, modMode: plan.config.go.mod.rawValue,
            tags: plan.config.go.tags, requiredGoVersion: plan.config.go.version, sandbox: options.sandbox,
            jobs: options.jobs, goCache: options.goCache, cgo: plan.config.cgo)
        // A binary depends on the sources, the toolchain and how it is built; the sandbox does not change bytes.
        let common = [
            sources, toolchain.version, toolchain.goroot, settings.ldflags.joined(separator: "\0"), settings.modMode,
            settings.tags.joined(separator: ","), settings.requiredGoVersion ?? "",
        ]
        var pending: [(GoBuildTarget, String)] = []
        for target in plan.builds {
            let key = OutputCache.key(
                ["build"] + common + [
                    target.binary, target.package, target.platform.description, String(target.isStatic), target.output,
                ] + (target.isStatic ? [] : ["cgo", settings.cgoLine(for: target.platform)]))
            if cache.lookup("build", key: key, outputs: [target.output]) != nil {
                progress(.buildReused(target))
            } else {
                pending.append((target, key))
            }
        }
        var sandbox = "not needed"
        if !pending.isEmpty {
            let builder = GoBuilder(toolchain: toolchain, settings: settings, runner: runner)
            let report = try await builder.build(pending.map(\.0)) { progress(.build($0)) }
            sandbox = report.sandboxDescription
            for (target, key) in pending { cache.record("build", key: key, outputs: [target.output]) }
        }
        let reused = plan.builds.count - pending.count
        progress(
            .stepFinished(
                "build", seconds: Date().timeIntervalSince(start),
                summary: "\(pending.count) built, \(reused) up to date, sandbox: \(sandbox)"))
    }

    /// Step 2: every image tarball (standalone: `kbuild images`; needs the binaries).
    public func images(progress: @escaping Progress = { _ in }) async throws -> [BuiltImage] {
        let lock = try OutputLock(path: plan.layout.lockFile)
        defer { withExtendedLifetime(lock) {} }
        removeLeftovers()
        return try await writeImages(progress: progress)
    }

    private func writeImages(progress: @escaping Progress) async throws -> [BuiltImage] {
        guard !plan.images.isEmpty else { return [] }
        let start = Date()
        progress(.stepStarted("images"))
        try requireBinaries(plan.images.map(\.request.binaryPath))
        let basePath = plan.config.images.base.map { Paths.absolute($0, relativeTo: plan.workspace) }
        let baseSignature = try basePath.map { path in
            guard let signature = StatSignature(of: path) else {
                throw ReleaseError.missingInput(path: path, what: "base image (images.base in the release config)")
            }
            return signature.line
        }
        var keys: [String: String] = [:]
        var results: [Int: BuiltImage] = [:]
        var pending: [Int] = []
        for (index, image) in plan.images.enumerated() {
            let request = image.request
            let key = OutputCache.key([
                "image", request.binary, StatSignature(of: request.binaryPath)?.line ?? "", request.platform.description,
                request.registry, request.tagScheme.rawValue, request.version, String(request.archSuffix),
                String(request.legacyAmd64Name), request.outputDirectory, String(request.created.seconds),
                basePath ?? "scratch", baseSignature ?? "",
            ])
            keys[image.tarball] = key
            if let payload = cache.lookup("image", key: key, outputs: [image.tarball, image.tagFile]),
                let built = try? JSONDecoder().decode(BuiltImage.self, from: payload)
            {
                results[index] = built
                progress(.image(built, reused: true))
            } else {
                pending.append(index)
            }
        }
        if !pending.isEmpty {
            let scratch = plan.layout.root + "/.images.kbuild-tmp-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let base = try basePath.map { try BaseImage.load(path: $0, scratch: scratch) }
            let writer = ImageWriter(base: base)
            let images = plan.images
            let written = try await concurrentMap(pending, limit: options.jobs) { index in
                let result = try writer.write(images[index].request)
                let built = BuiltImage(
                    repoTags: result.repoTags, tag: result.tag, tarball: result.tarball, size: result.size,
                    sha256: result.sha256.hex)
                progress(.image(built, reused: false))
                return built
            }
            for (index, built) in zip(pending, written) {
                results[index] = built
                let image = plan.images[index]
                cache.record(
                    "image", key: keys[image.tarball]!, outputs: [image.tarball, image.tagFile],
                    payload: try JSONEncoder().encode(built))
            }
        }
        progress(
            .stepFinished(
                "images", seconds: Date().timeIntervalSince(start),
                summary: "\(pending.count) written, \(plan.images.count - pending.count) up to date"))
        return plan.images.indices.compactMap { results[$0] }
    }

    /// Steps 3-5: stage, pack, checksum; `release-stage` and `release-tars` are replaced whole at the end.
    /// Skipped when nothing they depend on changed since the last release.
    public func package(images: [BuiltImage], sources: String, progress: @escaping Progress = { _ in }) async throws
        -> [Artifact]
    {
        let layout = plan.layout
        let binaries = Set(plan.tarballs.flatMap { tarball in
            tarball.binaries.compactMap { name in tarball.platform.map { layout.binary(name, $0) } }
        }).sorted()
        try requireBinaries(binaries)
        let tracked = try await sourceFiles()
        let key = OutputCache.key(
            [
                "package", plan.rendered, plan.configFingerprint, sources, String(options.compressionLevel),
                TarOptions.Compression.fastGzipLibrary,
            ]
                + tracked + binaries.map { "\($0) \(StatSignature(of: $0)?.line ?? "")" }
                + images.map { "\($0.tarball) \($0.sha256)" })
        let outputs = packageOutputs.map { layout.releaseTars + "/" + $0 }
        if let payload = cache.lookup("package", key: key, outputs: outputs),
            let artifacts = try? JSONDecoder().decode([Artifact].self, from: payload)
        {
            progress(.packageReused)
            return artifacts
        }
        let artifacts = try await package(images: images, tracked: tracked, progress: progress)
        cache.record("package", key: key, outputs: outputs, payload: try JSONEncoder().encode(artifacts))
        return artifacts
    }

    /// Every file `package` writes into release-tars.
    var packageOutputs: [String] {
        plan.tarballs.flatMap { [$0.name, $0.name + ".sha256", $0.name + ".sha512"] }
            + ["SHA256SUMS", "SHA512SUMS", "artifacts.json"]
    }

    /// The content digest of the workspace's sources (see `WorkspaceDigest`), via the stat index (`SourceIndex`).
    func sourceDigest() throws -> String {
        do {
            return try SourceIndex.digest(plan.workspace, indexPath: plan.layout.cache + "/source-index").digest
        } catch {
            throw ReleaseError.io(path: plan.workspace, reason: "cannot read the sources: \(error)")
        }
    }

    private func package(images: [BuiltImage], tracked: [String], progress: @escaping Progress) async throws
        -> [Artifact]
    {
        let start = Date()
        progress(.stepStarted("stage"))
        let layout = plan.layout
        let stageRoot = FileOutput.temporarySibling(of: layout.releaseStage)
        let tarsRoot = FileOutput.temporarySibling(of: layout.releaseTars)
        var done = false
        defer {
            if !done {
                try? FileManager.default.removeItem(atPath: stageRoot)
                try? FileManager.default.removeItem(atPath: tarsRoot)
            }
        }
        let stager = Stager(root: stageRoot)
        try stager.makeDirectory(stageRoot)
        try stager.makeDirectory(tarsRoot)
        try stage(with: stager, tracked: tracked)
        progress(.stepFinished("stage", seconds: Date().timeIntervalSince(start), summary: layout.releaseStage))

        let packStart = Date()
        progress(.stepStarted("package"))
        // Parallel libdeflate gzip members: standard gzip, same bytes whatever the thread count.
        let options = TarOptions(compression: .fastGzip(level: self.options.compressionLevel), mtime: plan.sourceDate)
        let pack: @Sendable (ReleasePlan.PlannedTarball) throws -> WrittenArchive = { tarball in
            let entries = try TarEntry.tree(of: stageRoot + "/" + stageDirectory(tarball), under: "")
            let written = try Tarball.write(entries, to: tarsRoot + "/" + tarball.name, options: options)
            progress(.tarball(name: tarball.name, size: written.size))
            return written
        }
        // The src and manifests tarballs nest inside others: pack them first, then stage them.
        let (nested, outer) = (plan.tarballs.filter { $0.kind == .src || $0.kind == .manifests },
                               plan.tarballs.filter { $0.kind != .src && $0.kind != .manifests })
        var written = try await concurrentMap(nested, limit: self.options.jobs) { try pack($0) }
        try stageNested(with: stager, tarsRoot: tarsRoot)
        written += try await concurrentMap(outer, limit: self.options.jobs) { try pack($0) }
        progress(.stepFinished(
            "package", seconds: Date().timeIntervalSince(packStart), summary: "\(written.count) tarballs"))

        let artifacts = try writeChecksums(
            tarballs: Array(zip(nested + outer, written)), images: images, into: tarsRoot)
        try FileOutput.replaceDirectory(layout.releaseStage, with: stageRoot)
        try FileOutput.replaceDirectory(layout.releaseTars, with: tarsRoot)
        done = true
        return artifacts
    }

    // MARK: - Staging

    /// `release-stage/<kind>/<os>-<arch>` for platform tarballs, `release-stage/<kind>` otherwise.
    func stageDirectory(_ tarball: ReleasePlan.PlannedTarball) -> String {
        tarball.platform.map { "\(tarball.kind.rawValue)/\($0.dashed)" } ?? tarball.kind.rawValue
    }

    private func stage(with stager: Stager, tracked: [String]) throws {
        let project = plan.project
        let workspace = plan.workspace
        let config = plan.config
        let manifests = try AddonManifests.find(
            workspace: workspace, directories: config.addons.dirs, exclude: config.addons.exclude)
        let licenses = ["LICENSES", "LICENSE"].map { workspace + "/" + $0 }
            .first { FileManager.default.fileExists(atPath: $0) }
        let readme = ["README.md", "README"].map { workspace + "/" + $0 }
            .first { FileManager.default.fileExists(atPath: $0) }

        for tarball in plan.tarballs {
            let dir = stageDirectory(tarball)
            switch tarball.kind {
            case .src:
                for file in tracked {
                    try stager.place(workspace + "/" + file, at: "\(dir)/\(file)")
                }
                try stager.write(plan.version.versionFile, at: "\(dir)/\(ReleasePlan.sourceVersionFile)")
            case .manifests:
                // A workspace without add-ons still gets the tarball (`<project>/addons/`, empty): a stable layout.
                try stager.makeDirectory("\(stager.root)/\(dir)/\(project)/addons")
                for manifest in manifests {
                    try stager.place(manifest.source, at: "\(dir)/\(project)/addons/\(manifest.relativePath)")
                }
            case .client, .server, .node, .test:
                guard let platform = tarball.platform else { continue }
                let bin = "\(dir)/\(project)/\(tarball.kind.rawValue)/bin"
                for name in tarball.binaries {
                    try stager.place(
                        plan.layout.binary(name, platform), at: "\(bin)/\(name)\(platform.executableSuffix)")
                }
                for name in tarball.images {
                    let images = plan.layout.imageDirectory(arch: platform.arch)
                    try stager.place("\(images)/\(name).tar", at: "\(bin)/\(name).tar")
                    try stager.place("\(images)/\(name).docker_tag", at: "\(bin)/\(name).docker_tag")
                }
                if tarball.kind == .server {
                    for manifest in manifests {
                        try stager.place(manifest.source, at: "\(dir)/\(project)/addons/\(manifest.relativePath)")
                    }
                }
                if let licenses { try stager.placeTree(licenses, at: "\(dir)/\(project)/LICENSES", workspace: workspace) }
            case .full:
                try stager.write(plan.version.version + "\n", at: "\(dir)/\(project)/version")
                for include in config.full.include {
                    try stager.placeTree(
                        Paths.absolute(include, relativeTo: workspace), at: "\(dir)/\(project)/\(include)",
                        workspace: workspace)
                }
                if let licenses { try stager.placeTree(licenses, at: "\(dir)/\(project)/LICENSES", workspace: workspace) }
                if let readme { try stager.place(readme, at: "\(dir)/\(project)/\(Paths.name(of: readme))") }
            }
        }
    }

    /// Links the packed src and manifests tarballs into the server and full stages.
    private func stageNested(with stager: Stager, tarsRoot: String) throws {
        let project = plan.project
        for tarball in plan.tarballs {
            let dir = stageDirectory(tarball)
            switch tarball.kind {
            case .server:
                try stager.place("\(tarsRoot)/\(project)-src.tar.gz", at: "\(dir)/\(project)/\(project)-src.tar.gz")
            case .full:
                try stager.place(
                    "\(tarsRoot)/\(project)-manifests.tar.gz", at: "\(dir)/\(project)/server/\(project)-manifests.tar.gz")
            default:
                continue
            }
        }
    }

    /// The files git tracks (`git ls-files`); without git, every file but `_output` and `.git`.
    private func sourceFiles() async throws -> [String] {
        let workspace = plan.workspace
        let result = try await runner.run(Command("git", ["-C", workspace, "ls-files", "-z"]))
        let files: [String]
        if result.succeeded {
            files = result.stdout.split(separator: "\0").map(String.init)
        } else {
            files = try AddonManifests.files(under: workspace, workspace: workspace)
                .filter { !$0.hasPrefix("_output/") && !$0.hasPrefix(".git/") && $0 != ".git" }
        }
        // Deleted-but-tracked files and submodule directories are not regular files: skip them.
        return files.filter { file in
            var info = stat()
            return lstat(workspace + "/" + file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    // MARK: - Checksums

    private func writeChecksums(
        tarballs: [(ReleasePlan.PlannedTarball, WrittenArchive)], images: [BuiltImage], into directory: String
    ) throws -> [Artifact] {
        var sha256Lines: [String] = []
        var sha512Lines: [String] = []
        var artifacts: [Artifact] = []
        for (tarball, written) in tarballs {
            let sha256 = written.digests[.sha256]?.hex ?? ""
            let sha512 = written.digests[.sha512]?.hex ?? ""
            sha256Lines.append("\(sha256)  \(tarball.name)")
            sha512Lines.append("\(sha512)  \(tarball.name)")
            try FileOutput.writeAtomically(sha256 + "\n", to: "\(directory)/\(tarball.name).sha256")
            try FileOutput.writeAtomically(sha512 + "\n", to: "\(directory)/\(tarball.name).sha512")
            artifacts.append(
                Artifact(
                    name: tarball.name, path: "release-tars/\(tarball.name)", kind: tarball.kind.rawValue,
                    os: tarball.platform?.os, arch: tarball.platform?.arch, size: written.size, sha256: sha256))
        }
        for image in images {
            let relative = String(image.tarball.dropFirst(plan.layout.root.count + 1))
            artifacts.append(
                Artifact(
                    name: Paths.name(of: image.tarball), path: relative, kind: "image", os: "linux",
                    arch: relative.split(separator: "/").dropFirst().first.map(String.init), size: image.size,
                    sha256: image.sha256, image: image.repoTags.first))
        }
        // Sorted by name so the files are the same whatever order the tarballs finished in.
        let byName: (String, String) -> Bool = { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        sha256Lines.sort { byName(String($0.dropFirst(66)), String($1.dropFirst(66))) }
        sha512Lines.sort { byName(String($0.dropFirst(130)), String($1.dropFirst(130))) }
        artifacts.sort { byName($0.path, $1.path) }
        try FileOutput.writeAtomically(sha256Lines.joined(separator: "\n") + "\n", to: directory + "/SHA256SUMS")
        try FileOutput.writeAtomically(sha512Lines.joined(separator: "\n") + "\n", to: directory + "/SHA512SUMS")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var json = try encoder.encode(artifacts)
        json.append(UInt8(ascii: "\n"))
        try FileOutput.writeAtomically(json, to: directory + "/artifacts.json")
        return artifacts
    }

    // MARK: - Helpers

    private func requireBinaries(_ paths: [String]) throws {
        for path in Set(paths).sorted() where !FileManager.default.fileExists(atPath: path) {
            throw ReleaseError.missingBuildOutput(path: path)
        }
    }

    /// Temp files of interrupted earlier runs; safe to remove because we hold the lock.
    private func removeLeftovers() {
        let layout = plan.layout
        var directories = [layout.root, layout.releaseImages]
        directories += ["build", "image", "package"].map { layout.cache + "/" + $0 }
        directories += Set(plan.builds.map { layout.binaryDirectory($0.platform) }).sorted()
        directories += Set(plan.images.map(\.request.outputDirectory)).sorted()
        for directory in directories { FileOutput.removeLeftovers(in: directory) }
    }
}

extension ReleasePlan {
    /// The version file at the root of the src tarball: `kbuild version` reads it where there is no git.
    public static let sourceVersionFile = VersionResolver.embeddedVersionFile
}
