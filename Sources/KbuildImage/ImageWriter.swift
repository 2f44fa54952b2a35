import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest

/// What was written for one image.
public struct ImageResult: Sendable, Hashable {
    /// `repository:tag` names restored by `docker load` / `podman load`, the primary first.
    public var repoTags: [String]
    public var tag: String
    /// `<outputDirectory>/<binary>.tar`.
    public var tarball: String
    public var size: Int64
    /// sha256 of the tarball.
    public var sha256: Digest
    /// `<outputDirectory>/<binary>.docker_tag`.
    public var dockerTagFile: String
    /// The image ID: the sha256 of the config blob (what `podman images` shows).
    public var imageID: Digest
}

/// Writes docker-archive image tarballs (with the OCI layout beside, as Docker 25 `docker save` does),
/// without any container engine, byte-reproducibly.
public struct ImageWriter: Sendable {
    /// The base image the binary's layer goes on top of; nil for `scratch`.
    public var base: BaseImage?

    /// The default PATH of images built on scratch (Docker's default).
    public static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public init(base: BaseImage?) {
        self.base = base
    }

    /// Writes `<bin>.tar` and `<bin>.docker_tag` into the request's output directory, each atomically.
    public func write(_ request: ImageRequest) throws -> ImageResult {
        do {
            return try writeUnwrapped(request)
        } catch let error as ArchiveError {
            // One error type out of this module: archive failures become image output errors.
            if case .io(let path, let reason) = error, path == request.binaryPath {
                throw ImageError.unreadableBinary(path: path, reason: reason)
            }
            throw ImageError.output(path: request.tarballPath, reason: error.description)
        }
    }

    private typealias Layer = (file: String, digest: Digest, size: Int64)

    private func writeUnwrapped(_ request: ImageRequest) throws -> ImageResult {
        let tag = try request.tag()
        let repoTags = try request.repoTags(tag: tag)
        let baseImage = try base?.image(for: request.platform)
        let tarball = request.tarballPath
        do {
            try FileManager.default.createDirectory(atPath: request.outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw ImageError.output(path: request.outputDirectory, reason: Escaping.reason(of: error))
        }

        // The binary's layer goes to a hidden temporary sibling (cleaned like every kbuild leftover).
        let layerPath = FileOutput.temporarySibling(of: tarball) + ".layer.tar"
        defer { unlink(layerPath) }
        let layer = try Tarball.write(
            [.file(String(request.entrypoint.dropFirst()), source: request.binaryPath, executable: true)],
            to: layerPath, options: TarOptions(compression: .none, mtime: request.created, hashing: .sha256))
        let layerDigest = try layer.digests.sha256(of: layerPath)
        var layers = (baseImage?.layers ?? []).map { (file: $0.file, digest: $0.diffID, size: $0.size) }
        layers.append((file: layerPath, digest: layerDigest, size: layer.size))

        let configBytes = ImageJSON.encode(Self.config(request, base: baseImage, layers: layers))
        let configDigest = Digest.of(configBytes, .sha256)
        let entries = Self.entries(
            request, tag: tag, repoTags: repoTags, config: (configBytes, configDigest), layers: layers,
            topLayer: layerDigest)
        let written = try Tarball.write(
            entries, to: tarball, options: TarOptions(compression: .none, mtime: request.created, hashing: .sha256))
        do {
            try FileOutput.writeAtomically(tag + "\n", to: request.dockerTagPath)
        } catch let error as FileOutputError {
            throw ImageError.output(path: request.dockerTagPath, reason: error.description)
        }
        return ImageResult(
            repoTags: repoTags, tag: tag, tarball: tarball, size: written.size,
            sha256: try written.digests.sha256(of: tarball),
            dockerTagFile: request.dockerTagPath, imageID: configDigest)
    }

    /// The image config: the platform, the entrypoint, the base's settings, every layer's diff_id, history.
    private static func config(_ request: ImageRequest, base: BaseImage.Image?, layers: [Layer]) -> ImageConfig {
        let created = request.created.rfc3339
        var history = base?.history ?? []
        history.append(
            ImageConfig.History(
                created: created, createdBy: "kbuild images: COPY \(request.binary) \(request.entrypoint)",
                comment: "kbuild"))
        return ImageConfig(
            architecture: request.platform.arch, os: request.platform.os, variant: request.platform.ociVariant,
            created: created,
            config: ImageConfig.Settings(
                entrypoint: [request.entrypoint], env: base?.env ?? [defaultPath], user: base?.user,
                workingDir: base?.workingDir),
            rootfs: ImageConfig.RootFS(type: "layers", diffIDs: layers.map(\.digest.description)),
            history: history)
    }

    /// The tarball's entries: the OCI layout (manifest, index, blobs) and docker-archive's `manifest.json`
    /// and `repositories`, every blob once.
    private static func entries(
        _ request: ImageRequest, tag: String, repoTags: [String], config: (bytes: [UInt8], digest: Digest),
        layers: [Layer], topLayer: Digest
    ) -> [TarEntry] {
        let manifest = ImageManifest(
            schemaVersion: 2, mediaType: MediaType.ociManifest,
            config: Descriptor(
                mediaType: MediaType.ociConfig, digest: config.digest.description, size: Int64(config.bytes.count)),
            layers: layers.map {
                Descriptor(mediaType: MediaType.ociLayer, digest: $0.digest.description, size: $0.size)
            })
        let manifestBytes = ImageJSON.encode(manifest)
        let manifestDigest = Digest.of(manifestBytes, .sha256)
        let platform = Descriptor.Platform(
            architecture: request.platform.arch, os: request.platform.os, variant: request.platform.ociVariant)
        let index = ImageIndex(
            schemaVersion: 2, mediaType: MediaType.ociIndex,
            manifests: repoTags.map { name in
                Descriptor(
                    mediaType: MediaType.ociManifest, digest: manifestDigest.description,
                    size: Int64(manifestBytes.count),
                    annotations: ["io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag],
                    platform: platform)
            })

        func blobPath(_ digest: Digest) -> String { "blobs/sha256/" + digest.hex }
        let dockerManifest = [
            DockerManifestEntry(
                config: blobPath(config.digest), repoTags: repoTags, layers: layers.map { blobPath($0.digest) })
        ]
        // Legacy `repositories`: every repository → tag → top layer id (Docker 25: the top layer's diff_id hex).
        var repositories: [String: [String: String]] = [:]
        for repository in request.repositories { repositories[repository] = [tag: topLayer.hex] }

        var entries: [TarEntry] = [
            .data(blobPath(config.digest), config.bytes),
            .data(blobPath(manifestDigest), manifestBytes),
            .data("index.json", ImageJSON.encode(index)),
            .data("manifest.json", ImageJSON.encode(dockerManifest)),
            .data("oci-layout", ImageJSON.encode(OCILayout(imageLayoutVersion: "1.0.0"))),
            .data("repositories", ImageJSON.encode(repositories)),
        ]
        var seen: Set<Digest> = [config.digest, manifestDigest]
        for layer in layers where seen.insert(layer.digest).inserted {
            entries.append(.file(blobPath(layer.digest), source: layer.file, executable: false))
        }
        return entries
    }
}
