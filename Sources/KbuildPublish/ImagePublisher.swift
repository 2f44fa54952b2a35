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
        // A binary whose every tag already names the digest the release expects is published: a manifest's
        // presence implies its blobs, so one HEAD per tag replaces a HEAD per blob and manifest.
        let publisher = self
        let published = try await isTagged(publications)
        for (publication, done) in zip(publications, published) where done {
            summary.tagsPresent += 1 + publication.archTags.count
            let tags =
                [(publication.repository, publication.tag, publication.indexDigest)]
                + publication.archTags.map { ($0.repository, $0.tag, $0.image.manifestDigest) }
            for (repository, tag, digest) in tags {
                report(.tagged(reference: "\(client.host)/\(repository):\(tag)", digest: digest, changed: false))
            }
        }
        let publications = zip(publications, published).filter { !$0.1 }.map(\.0)
        // Each (repository, blob) once: images of one binary may share base layers.
        var seen: Set<String> = []
        var blobs: [(repository: String, subject: String, blob: ArchiveBlob)] = []
        for publication in publications {
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
        try await gate()
        for (item, didPush) in zip(blobs, pushed) {
            if didPush {
                summary.blobsPushed += 1
                summary.bytesPushed += item.blob.size
            } else {
                summary.blobsPresent += 1
            }
        }
        // Each binary's manifests, index and per-arch content at once (in order within a binary), then
        // every tag: a tag goes up only once all content of every publication is there.
        let content = try await concurrentMap(publications, limit: jobs) { publication in
            try await Blocking.run { () throws(PublishError) -> PublishSummary in
                var part = PublishSummary()
                try publisher.pushManifests([publication], &part, report)
                try publisher.pushArchContent([publication], &part, report)
                return part
            }
        }
        let tags = try await concurrentMap(publications, limit: jobs) { publication in
            try await Blocking.run { () throws(PublishError) -> PublishSummary in
                var part = PublishSummary()
                try publisher.pushTags([publication], &part, report)
                return part
            }
        }
        return (content + tags).reduce(summary, +)
    }

    /// Whether every tag of each publication (the index's, each per-arch name's) names the digest it
    /// should: one HEAD per tag, all at once (a repeat publish is these requests and nothing else).
    private func isTagged(_ publications: [ImagePublication]) async throws -> [Bool] {
        let tags = publications.enumerated().flatMap { item in
            [(item.offset, item.element.repository, item.element.tag, item.element.indexDigest)]
                + item.element.archTags.map { (item.offset, $0.repository, $0.tag, $0.image.manifestDigest) }
        }
        let client = self.client
        let matches = try await concurrentMap(tags, limit: max(jobs, 8)) { tag in
            try await Blocking.run { () throws(PublishError) -> Bool in
                let subject = "\(client.host)/\(tag.1):\(tag.2)"
                return try client.manifestDigest(tag.2, in: tag.1, subject: subject) == tag.3
            }
        }
        var tagged = [Bool](repeating: true, count: publications.count)
        for (tag, match) in zip(tags, matches) where !match { tagged[tag.0] = false }
        return tagged
    }

    private func pushManifests(
        _ publications: [ImagePublication], _ summary: inout PublishSummary, _ progress: (PublishEvent) -> Void
    ) throws(PublishError) {
        for publication in publications {
            let documents =
                publication.images.map { ($0.manifest, $0.manifestMediaType, $0.manifestDigest) }
                + [(publication.index, OCIMediaType.index, publication.indexDigest)]
            for (bytes, mediaType, digest) in documents {
                let subject = "\(client.host)/\(publication.repository)@\(digest)"
                if try client.manifestDigest(digest, in: publication.repository, subject: subject) != nil {
                    summary.manifestsPresent += 1
                    continue
                }
                try client.putManifest(
                    bytes, mediaType: mediaType, digest: digest, as: digest, in: publication.repository,
                    subject: subject)
                summary.manifestsPushed += 1
                progress(
                    .manifestPushed(
                        repository: "\(client.host)/\(publication.repository)", digest: digest,
                        index: digest == publication.indexDigest))
            }
        }
    }

    /// Each per-architecture repository gets its image's blobs (mounted from the multi-arch repository,
    /// uploaded only when the registry will not mount) and manifest, before any tag.
    private func pushArchContent(
        _ publications: [ImagePublication], _ summary: inout PublishSummary, _ progress: (PublishEvent) -> Void
    ) throws(PublishError) {
        var done: Set<String> = []
        for publication in publications {
            for archTag in publication.archTags where archTag.repository != publication.repository {
                let image = archTag.image
                guard done.insert(archTag.repository + "@" + image.manifestDigest).inserted else { continue }
                let subject = "\(client.host)/\(archTag.repository)@\(image.manifestDigest)"
                if try client.manifestDigest(image.manifestDigest, in: archTag.repository, subject: subject) != nil {
                    summary.manifestsPresent += 1
                    continue
                }
                for blob in image.blobs {
                    let repository = "\(client.host)/\(archTag.repository)"
                    if try client.hasBlob(blob.digest, in: archTag.repository, subject: subject) {
                        summary.blobsPresent += 1
                        progress(
                            .blobSkipped(repository: repository, digest: blob.digest, size: blob.size, mountedFrom: nil)
                        )
                    } else if try client.mountBlob(
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
                progress(
                    .manifestPushed(
                        repository: "\(client.host)/\(archTag.repository)", digest: image.manifestDigest, index: false))
            }
        }
    }

    /// The index's tag, then each per-arch name's: set unless the registry already has it naming that digest.
    private func pushTags(
        _ publications: [ImagePublication], _ summary: inout PublishSummary, _ progress: (PublishEvent) -> Void
    ) throws(PublishError) {
        for publication in publications {
            let tags =
                [
                    (
                        publication.repository, publication.tag, publication.index, OCIMediaType.index,
                        publication.indexDigest
                    )
                ]
                + publication.archTags.map {
                    ($0.repository, $0.tag, $0.image.manifest, $0.image.manifestMediaType, $0.image.manifestDigest)
                }
            for (repository, tag, bytes, mediaType, digest) in tags {
                let subject = "\(client.host)/\(repository):\(tag)"
                if try client.manifestDigest(tag, in: repository, subject: subject) == digest {
                    summary.tagsPresent += 1
                    progress(.tagged(reference: subject, digest: digest, changed: false))
                    continue
                }
                try client.putManifest(
                    bytes, mediaType: mediaType, digest: digest, as: tag, in: repository, subject: subject)
                summary.tagsSet += 1
                progress(.tagged(reference: subject, digest: digest, changed: true))
            }
        }
    }
}
