import Foundation
import KbuildCore

/// What one publish did.
public struct PublishSummary: Sendable, Hashable {
    public var blobsPushed = 0
    public var blobsPresent = 0
    /// Blobs linked into a per-architecture repository from the multi-arch one (no bytes sent).
    public var blobsMounted = 0
    public var bytesPushed: Int64 = 0
    public var manifestsPushed = 0
    public var manifestsPresent = 0
    public var tagsSet = 0
    public var tagsPresent = 0

    public init() {}

    static func + (a: PublishSummary, b: PublishSummary) -> PublishSummary {
        var sum = a
        sum.blobsPushed += b.blobsPushed
        sum.blobsPresent += b.blobsPresent
        sum.blobsMounted += b.blobsMounted
        sum.bytesPushed += b.bytesPushed
        sum.manifestsPushed += b.manifestsPushed
        sum.manifestsPresent += b.manifestsPresent
        sum.tagsSet += b.tagsSet
        sum.tagsPresent += b.tagsPresent
        return sum
    }
}

/// Pushes publications to one registry: blobs first (skipping those it has, a bounded number at once),
/// then each architecture's manifest by digest, then each index by digest, and only then the tags, so
/// a tag never names content the registry does not have. Everything already there is skipped, so a
/// re-run after an interruption completes what is missing and a repeat pushes nothing.
public struct ImagePublisher: Sendable {
    public let client: RegistryClient
    /// Blobs uploaded at once.
    public let jobs: Int

    public init(client: RegistryClient, jobs: Int = 4) {
        self.client = client
        self.jobs = max(1, jobs)
    }

    /// What a publish would do, by digest, without contacting the registry.
    public static func dryRun(_ publications: [ImagePublication], host: String) -> [String] {
        var lines: [String] = []
        for publication in publications {
            lines.append("index    \(publication.reference(host: host)) \(publication.indexDigest)")
            for image in publication.images {
                let platform = [image.platform.os, image.platform.architecture, image.platform.variant]
                    .compactMap { $0 }.joined(separator: "/")
                let bytes = image.blobs.reduce(Int64(0)) { $0 + $1.size }
                lines.append(
                    "manifest \(host)/\(publication.repository)@\(image.manifestDigest) \(platform), \(image.blobs.count) blobs, \(bytes) bytes"
                )
                for blob in image.blobs { lines.append("blob     \(blob.digest) \(blob.size) bytes") }
            }
            for archTag in publication.archTags {
                lines.append("tag      \(host)/\(archTag.repository):\(archTag.tag) \(archTag.image.manifestDigest)")
            }
        }
        return lines
    }

    /// Pushes every publication; `report` gets every blob, manifest and tag, and the bytes under way per
    /// image. `gate` is awaited after the blobs and before any manifest: blobs are content-addressed and
    /// reachable under no name, so they may go up while the release is still being verified; a gate that
    /// throws stops the publish before anything is named.
    public func push(
        _ publications: [ImagePublication], gate: @Sendable () async throws -> Void = {},
        report: @escaping @Sendable (PublishEvent) -> Void
    ) async throws -> PublishSummary {
        var summary = PublishSummary()
        // Tags are asked first, all at once: a tag naming the digest the release expects implies its manifest
        // (an index's tag, its manifests) and their blobs, so one HEAD per tag replaces a HEAD per blob and
        // manifest, and a binary whose every tag is right is published already.
        let tagged = try await taggedAlready(publications)
        for publication in publications where Self.tags(of: publication).allSatisfy({ tagged.contains($0.key) }) {
            for tag in Self.tags(of: publication) {
                summary.tagsPresent += 1
                report(.tagged(reference: "\(client.host)/\(tag.key)", digest: tag.digest, changed: false))
            }
        }
        let publications = publications.filter {
            !Self.tags(of: $0).allSatisfy { tagged.contains($0.key) }
        }
        summary = summary + (try await pushBlobs(publications, tagged: tagged, report: report))
        try await gate()
        // Each binary's manifests, index and per-arch content at once (in order within a binary), then
        // every tag: a tag goes up only once all content of every publication is there.
        let publisher = self
        let content = try await concurrentMap(publications, limit: jobs) { publication in
            try await Blocking.run { () throws(PublishError) -> PublishSummary in
                var part = PublishSummary()
                try publisher.pushManifests(publication, tagged, &part, report)
                try publisher.pushArchContent(publication, tagged, &part, report)
                return part
            }
        }
        let tags = try await concurrentMap(publications, limit: jobs) { publication in
            try await Blocking.run { () throws(PublishError) -> PublishSummary in
                var part = PublishSummary()
                try publisher.pushTags(publication, tagged, &part, report)
                return part
            }
        }
        return (content + tags).reduce(summary, +)
    }

    /// The blobs of the multi-arch repositories, `jobs` at once, each sent unless the registry has it
    /// (`HEAD`); a publication whose index is tagged already has them all (a manifest implies its blobs).
    private func pushBlobs(
        _ publications: [ImagePublication], tagged: Set<String>, report: @escaping @Sendable (PublishEvent) -> Void
    ) async throws -> PublishSummary {
        // Each (repository, blob) once: images of one binary may share base layers.
        var seen: Set<String> = []
        var blobs: [(repository: String, subject: String, blob: ArchiveBlob)] = []
        for publication in publications where !tagged.contains(Self.tags(of: publication)[0].key) {
            for image in publication.images {
                for blob in image.blobs where seen.insert(publication.repository + "@" + blob.digest).inserted {
                    blobs.append((publication.repository, "\(publication.binary) blob \(blob.digest)", blob))
                }
            }
        }
        let client = self.client
        let host = client.host
        let bytes = TransferProgress(
            .push, totals: blobs.reduce(into: [:]) { $0[host + "/" + $1.repository, default: 0] += $1.blob.size },
            report: report)
        defer { bytes.finish() }
        let pushed = try await concurrentMap(blobs, limit: jobs) { item in
            let repository = host + "/" + item.repository
            // Shown as docker does, `sha256:` and 12 hex digits: which blobs are on the wire.
            let short = String(item.blob.digest.prefix(19))
            bytes.started(repository, short)
            let didPush = try await Blocking.run { () throws(PublishError) -> Bool in
                if try client.hasBlob(item.blob.digest, in: item.repository, subject: item.subject) { return false }
                // Chunk by chunk: a large layer shows its bytes moving.
                try client.pushBlob(item.blob, to: item.repository, subject: item.subject) {
                    bytes.advanced(repository, by: $0)
                }
                return true
            }
            bytes.finished(repository, short, bytes: didPush ? 0 : item.blob.size)
            report(
                didPush
                    ? .blobPushed(repository: repository, digest: item.blob.digest, size: item.blob.size)
                    : .blobSkipped(
                        repository: repository, digest: item.blob.digest, size: item.blob.size, mountedFrom: nil))
            return didPush
        }
        bytes.finish()  // before the manifests: the bytes are all there
        var summary = PublishSummary()
        for (item, didPush) in zip(blobs, pushed) {
            if didPush {
                summary.blobsPushed += 1
                summary.bytesPushed += item.blob.size
            } else {
                summary.blobsPresent += 1
            }
        }
        return summary
    }

    /// One tag of a publication: `repository:tag` naming `digest` (the manifest `bytes` of `mediaType`).
    struct Tag {
        var repository: String
        var tag: String
        var bytes: Data
        var mediaType: String
        var digest: String
        var key: String { repository + ":" + tag }
    }

    /// The index's tag first, then each per-arch name's.
    static func tags(of publication: ImagePublication) -> [Tag] {
        [
            Tag(
                repository: publication.repository, tag: publication.tag, bytes: publication.index,
                mediaType: OCIMediaType.index, digest: publication.indexDigest)
        ]
            + publication.archTags.map {
                Tag(
                    repository: $0.repository, tag: $0.tag, bytes: $0.image.manifest,
                    mediaType: $0.image.manifestMediaType, digest: $0.image.manifestDigest)
            }
    }

    /// The tags (`repository:tag`) that already name the digest the release expects: one HEAD per tag, all
    /// at once over kept connections (a repeat publish is these requests and nothing else).
    private func taggedAlready(_ publications: [ImagePublication]) async throws -> Set<String> {
        let tags = publications.flatMap(Self.tags(of:))
        let client = self.client
        let matches = try await concurrentMap(tags, limit: max(jobs, 8)) { tag in
            try await Blocking.run { () throws(PublishError) -> Bool in
                let subject = "\(client.host)/\(tag.key)"
                return try client.manifestDigest(tag.tag, in: tag.repository, subject: subject) == tag.digest
            }
        }
        return Set(zip(tags, matches).filter(\.1).map(\.0.key))
    }

    /// The per-arch manifests and the index of the multi-arch repository, by digest: `PUT` with no `HEAD`
    /// first (a manifest is a few hundred bytes, a `PUT` of one the registry has changes nothing), unless
    /// the index's tag already names it.
    private func pushManifests(
        _ publication: ImagePublication, _ tagged: Set<String>, _ summary: inout PublishSummary,
        _ progress: (PublishEvent) -> Void
    ) throws(PublishError) {
        let documents =
            publication.images.map { ($0.manifest, $0.manifestMediaType, $0.manifestDigest) }
            + [(publication.index, OCIMediaType.index, publication.indexDigest)]
        if tagged.contains(Self.tags(of: publication)[0].key) {
            summary.manifestsPresent += documents.count
            return
        }
        for (bytes, mediaType, digest) in documents {
            let subject = "\(client.host)/\(publication.repository)@\(digest)"
            try client.putManifest(
                bytes, mediaType: mediaType, digest: digest, as: digest, in: publication.repository, subject: subject)
            summary.manifestsPushed += 1
            progress(
                .manifestPushed(
                    repository: "\(client.host)/\(publication.repository)", digest: digest,
                    index: digest == publication.indexDigest))
        }
    }

    /// Each per-architecture repository gets its image's blobs (mounted from the multi-arch repository:
    /// the mount answers for a blob it has too, so no `HEAD` first; uploaded only when the registry will
    /// not mount) and manifest, before any tag; nothing when its tag already names that manifest.
    private func pushArchContent(
        _ publication: ImagePublication, _ tagged: Set<String>, _ summary: inout PublishSummary,
        _ progress: (PublishEvent) -> Void
    ) throws(PublishError) {
        var done: Set<String> = []
        for archTag in publication.archTags where archTag.repository != publication.repository {
            let image = archTag.image
            guard done.insert(archTag.repository + "@" + image.manifestDigest).inserted else { continue }
            if tagged.contains(archTag.repository + ":" + archTag.tag) {
                summary.manifestsPresent += 1
                continue
            }
            let subject = "\(client.host)/\(archTag.repository)@\(image.manifestDigest)"
            let repository = "\(client.host)/\(archTag.repository)"
            for blob in image.blobs {
                if try client.mountBlob(
                    blob.digest, from: publication.repository, into: archTag.repository, subject: subject)
                {
                    summary.blobsMounted += 1
                    progress(
                        .blobSkipped(
                            repository: repository, digest: blob.digest, size: blob.size,
                            mountedFrom: "\(client.host)/\(publication.repository)"))
                } else {
                    try client.pushBlob(blob, to: archTag.repository, subject: subject)
                    summary.blobsPushed += 1
                    summary.bytesPushed += blob.size
                    progress(.blobPushed(repository: repository, digest: blob.digest, size: blob.size))
                }
            }
            try client.putManifest(
                image.manifest, mediaType: image.manifestMediaType, digest: image.manifestDigest,
                as: image.manifestDigest, in: archTag.repository, subject: subject)
            summary.manifestsPushed += 1
            progress(.manifestPushed(repository: repository, digest: image.manifestDigest, index: false))
        }
    }

    /// The index's tag, then each per-arch name's: set unless the first `HEAD`s found it naming that digest.
    private func pushTags(
        _ publication: ImagePublication, _ tagged: Set<String>, _ summary: inout PublishSummary,
        _ progress: (PublishEvent) -> Void
    ) throws(PublishError) {
        for tag in Self.tags(of: publication) {
            let subject = "\(client.host)/\(tag.key)"
            if tagged.contains(tag.key) {
                summary.tagsPresent += 1
                progress(.tagged(reference: subject, digest: tag.digest, changed: false))
                continue
            }
            try client.putManifest(
                tag.bytes, mediaType: tag.mediaType, digest: tag.digest, as: tag.tag, in: tag.repository,
                subject: subject)
            summary.tagsSet += 1
            progress(.tagged(reference: subject, digest: tag.digest, changed: true))
        }
    }
}
