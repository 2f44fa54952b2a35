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
            for reference in publication.references(host: host).dropFirst() {
                lines.append("tag      \(reference) \(publication.indexDigest)")
            }
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
    /// image. `gate` is awaited after the blobs and their mounts and before any manifest: blobs are
    /// content-addressed and reachable under no name, so they may go up while the release is still being
    /// verified; a gate that throws stops the publish before anything is named.
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
        // Mounts too: a blob linked into a per-arch repository is named by nothing yet either.
        summary = summary + (try await mountArchBlobs(publications, tagged: tagged, report: report))
        try await gate()
        // Then every manifest by digest at once, then every index (over manifests now there), then every tag
        // (once all content of every publication is there): three round trips deep, whatever the count.
        var documents: (manifests: [Document], indexes: [Document], present: Int) = ([], [], 0)
        var seen: Set<String> = []
        for publication in publications {
            if Self.indexTagged(publication, tagged) {
                documents.present += publication.images.count + 1
            } else {
                documents.manifests += publication.images.map { Document(publication.repository, $0) }
                documents.indexes.append(Self.tags(of: publication)[0])
            }
            for archTag in publication.archTags where archTag.repository != publication.repository {
                guard seen.insert(archTag.repository + "@" + archTag.image.manifestDigest).inserted else { continue }
                if tagged.contains(archTag.repository + ":" + archTag.tag) {
                    documents.present += 1
                } else {
                    documents.manifests.append(Document(archTag.repository, archTag.image))
                }
            }
        }
        summary.manifestsPresent += documents.present
        summary = summary + (try await put(documents.manifests, byDigest: true, report))
        summary = summary + (try await put(documents.indexes, byDigest: true, report))
        let tags = publications.flatMap(Self.tags(of:)).filter { !tagged.contains($0.key) }
        summary.tagsPresent += publications.flatMap(Self.tags(of:)).count - tags.count
        for tag in publications.flatMap(Self.tags(of:)) where tagged.contains(tag.key) {
            report(.tagged(reference: "\(client.host)/\(tag.key)", digest: tag.digest, changed: false))
        }
        return summary + (try await put(tags, byDigest: false, report))
    }

    /// `PUT`s each document, at most `max(jobs, 8)` at once (they are a few hundred bytes each): under its
    /// digest, or under its tag. No `HEAD` first: a `PUT` of one the registry has changes nothing.
    private func put(_ documents: [Document], byDigest: Bool, _ report: @escaping @Sendable (PublishEvent) -> Void)
        async throws -> PublishSummary
    {
        let client = self.client
        _ = try await concurrentMap(documents, limit: max(jobs, 8)) { document in
            try await Blocking.run { () throws(PublishError) in
                let reference = byDigest ? document.digest : document.tag
                let subject = "\(client.host)/\(document.repository)" + (byDigest ? "@" : ":") + reference
                try client.putManifest(
                    document.bytes, mediaType: document.mediaType, digest: document.digest, as: reference,
                    in: document.repository, subject: subject)
                report(
                    byDigest
                        ? .manifestPushed(
                            repository: "\(client.host)/\(document.repository)", digest: document.digest,
                            index: document.mediaType == OCIMediaType.index)
                        : .tagged(reference: subject, digest: document.digest, changed: true))
            }
        }
        var summary = PublishSummary()
        if byDigest { summary.manifestsPushed = documents.count } else { summary.tagsSet = documents.count }
        return summary
    }

    /// Each per-architecture repository gets its image's blobs, `jobs` at once: mounted from the multi-arch
    /// repository (the mount answers 201 for a blob it has too, so no `HEAD` first), uploaded only when the
    /// registry will not mount; none for a name whose tag already names its manifest.
    private func mountArchBlobs(
        _ publications: [ImagePublication], tagged: Set<String>, report: @escaping @Sendable (PublishEvent) -> Void
    ) async throws -> PublishSummary {
        var seen: Set<String> = []
        var mounts: [(source: String, repository: String, subject: String, blob: ArchiveBlob)] = []
        for publication in publications {
            for archTag in publication.archTags where archTag.repository != publication.repository {
                guard !tagged.contains(archTag.repository + ":" + archTag.tag) else { continue }
                let subject = "\(client.host)/\(archTag.repository)@\(archTag.image.manifestDigest)"
                for blob in archTag.image.blobs where seen.insert(archTag.repository + "@" + blob.digest).inserted {
                    mounts.append((publication.repository, archTag.repository, subject, blob))
                }
            }
        }
        let client = self.client
        let host = client.host
        let mounted = try await concurrentMap(mounts, limit: jobs) { item in
            try await Blocking.run { () throws(PublishError) -> Bool in
                let repository = "\(host)/\(item.repository)"
                if try client.mountBlob(
                    item.blob.digest, from: item.source, into: item.repository, subject: item.subject)
                {
                    report(
                        .blobSkipped(
                            repository: repository, digest: item.blob.digest, size: item.blob.size,
                            mountedFrom: "\(host)/\(item.source)"))
                    return true
                }
                try client.pushBlob(item.blob, to: item.repository, subject: item.subject)
                report(.blobPushed(repository: repository, digest: item.blob.digest, size: item.blob.size))
                return false
            }
        }
        var summary = PublishSummary()
        for (item, didMount) in zip(mounts, mounted) {
            if didMount {
                summary.blobsMounted += 1
            } else {
                summary.blobsPushed += 1
                summary.bytesPushed += item.blob.size
            }
        }
        return summary
    }

    /// The blobs of the multi-arch repositories, `jobs` at once, each sent unless the registry has it
    /// (`HEAD`); a publication whose index is tagged already has them all (a manifest implies its blobs).
    private func pushBlobs(
        _ publications: [ImagePublication], tagged: Set<String>, report: @escaping @Sendable (PublishEvent) -> Void
    ) async throws -> PublishSummary {
        // Each (repository, blob) once: images of one binary may share base layers.
        var seen: Set<String> = []
        var blobs: [(repository: String, subject: String, blob: ArchiveBlob)] = []
        for publication in publications where !Self.indexTagged(publication, tagged) {
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

    /// A manifest or index to push: `repository:tag` (or `@digest`) naming `digest`, its `bytes` of `mediaType`.
    struct Document: Sendable {
        var repository: String
        var tag: String
        var bytes: Data
        var mediaType: String
        var digest: String
        var key: String { repository + ":" + tag }

        init(repository: String, tag: String, bytes: Data, mediaType: String, digest: String) {
            (self.repository, self.tag, self.bytes, self.mediaType, self.digest) =
                (repository, tag, bytes, mediaType, digest)
        }

        /// `image`'s manifest in `repository`, to push by digest.
        init(_ repository: String, _ image: ImageArchive) {
            self.init(
                repository: repository, tag: image.manifestDigest, bytes: image.manifest,
                mediaType: image.manifestMediaType, digest: image.manifestDigest)
        }
    }

    /// The index's tags first, then each per-arch name's.
    static func tags(of publication: ImagePublication) -> [Document] {
        publication.tags.map {
            Document(
                repository: publication.repository, tag: $0, bytes: publication.index,
                mediaType: OCIMediaType.index, digest: publication.indexDigest)
        }
            + publication.archTags.map {
                Document(
                    repository: $0.repository, tag: $0.tag, bytes: $0.image.manifest,
                    mediaType: $0.image.manifestMediaType, digest: $0.image.manifestDigest)
            }
    }

    /// Whether any of the index's tags names it already: then the index, its manifests and their blobs are
    /// there, and only the tags that do not name it yet are set.
    static func indexTagged(_ publication: ImagePublication, _ tagged: Set<String>) -> Bool {
        publication.tags.contains { tagged.contains(publication.repository + ":" + $0) }
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
}
