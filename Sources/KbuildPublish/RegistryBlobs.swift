import Foundation
import KbuildCore

extension RegistryClient {
    /// Blobs up to this size go in one `PUT`; larger ones in `PATCH` chunks of this size, so at most one
    /// chunk per transfer is in memory (never a whole layer).
    public static let chunkSize = 8 << 20

    /// Whether `repository` already has `digest` (`HEAD`; 200 yes, 404 no).
    public func hasBlob(_ digest: String, in repository: String, subject: String) throws(PublishError) -> Bool {
        let address = url(repository, "blobs/\(digest)")
        let answer = try send("HEAD", address, repository: repository, subject: subject)
        switch answer.status {
        case 200: return true
        case 404: return false
        default: throw Self.rejection(answer, subject: subject, method: "HEAD", address: address)
        }
    }

    /// Asks the registry to link `digest` from `source` into `repository` (a cross-repository mount, no bytes
    /// sent); true (201) also when `repository` has it already, false when it would rather have an upload (202).
    public func mountBlob(_ digest: String, from source: String, into repository: String, subject: String)
        throws(PublishError) -> Bool
    {
        let address = url(repository, "blobs/uploads/") + "?mount=\(digest)&from=\(source)"
        let answer = try send(
            "POST", address, repository: repository, subject: subject, headers: ["Content-Length": "0"])
        switch answer.status {
        case 201: return true
        case 202: return false
        default: throw Self.rejection(answer, subject: subject, method: "POST", address: address)
        }
    }

    /// Where an upload stands: the `Location` to send the next bytes to, and how many the registry has.
    struct UploadSession: Sendable {
        var location: String
        var offset: Int64
    }

    /// Uploads `blob` to `repository` from its byte range in the release file: `POST` an upload, then
    /// one `PUT ?digest=` with the bytes, or `PATCH` chunks and an empty `PUT ?digest=`. A request of the
    /// session that fails (a 5xx, a lost connection) is not repeated in place, since the registry may
    /// have taken part of it: after a pause, a `HEAD` tells whether the blob got stored anyway (only the
    /// answer was lost); else a chunked upload goes on from the bytes the registry reports holding, and
    /// anything else starts afresh (the registry drops the abandoned upload), up to the client's attempts.
    /// `sent` hears the bytes the registry took, chunk by chunk (a negative count when a failed attempt's
    /// are void; a resumed upload's kept bytes are heard again when it resumes).
    public func pushBlob(
        _ blob: ArchiveBlob, to repository: String, subject: String, sent: (Int64) -> Void = { _ in }
    ) throws(PublishError) {
        var attempt = 0
        var session: UploadSession?
        while true {
            attempt += 1
            var taken: Int64 = 0
            do {
                try pushBlobOnce(blob, to: repository, subject: subject, session: &session) { count in
                    taken += count
                    sent(count)
                }
                return
            } catch {
                if taken > 0 { sent(-taken) }
                let retryable: Bool
                switch error {
                case .unreachable: retryable = true
                case .rejected(_, _, _, let status, _): retryable = Self.retryable(status)
                default: retryable = false
                }
                guard retryable, attempt < attempts else { throw error }
                Thread.sleep(forTimeInterval: 0.5 * Double(1 << (attempt - 1)))
                if try hasBlob(blob.digest, in: repository, subject: subject) { return sent(blob.size) }
                session =
                    blob.size > Int64(Self.chunkSize)
                    ? session.flatMap { uploadStatus($0, repository: repository, subject: subject) } : nil
            }
        }
    }

    /// Sends what the registry lacks of `blob`, from `session` (kept up to date as chunks are taken) or a
    /// fresh upload when it is nil.
    private func pushBlobOnce(
        _ blob: ArchiveBlob, to repository: String, subject: String, session: inout UploadSession?,
        sent: (Int64) -> Void
    ) throws(PublishError) {
        var current: UploadSession
        if let session {
            current = session
            sent(current.offset)
        } else {
            let start = url(repository, "blobs/uploads/")
            let started = try send(
                "POST", start, repository: repository, subject: subject, headers: ["Content-Length": "0"])
            guard started.status == 202, let location = started.header("Location").map(absolute) else {
                throw Self.rejection(started, subject: subject, method: "POST", address: start)
            }
            current = UploadSession(location: location, offset: 0)
            session = current
        }
        let octets = ["Content-Type": "application/octet-stream"]
        if blob.size > Int64(Self.chunkSize) {
            while current.offset < blob.size {
                let count = Int(min(Int64(Self.chunkSize), blob.size - current.offset))
                let chunk = try TarIndex.read(blob.file, offset: blob.offset + current.offset, count: count)
                let range = "\(current.offset)-\(current.offset + Int64(count) - 1)"
                let answer = try send(
                    "PATCH", current.location, repository: repository, subject: subject,
                    headers: octets.merging(["Content-Range": range]) { $1 }, body: chunk, retrying: false)
                guard answer.status == 202, let next = answer.header("Location").map(absolute) else {
                    throw Self.rejection(answer, subject: subject, method: "PATCH", address: current.location)
                }
                current = UploadSession(location: next, offset: current.offset + Int64(count))
                session = current
                sent(Int64(count))
            }
        }
        let rest = Int(blob.size - current.offset)
        let body = try TarIndex.read(blob.file, offset: blob.offset + current.offset, count: rest)
        let finish = current.location + (current.location.contains("?") ? "&" : "?") + "digest=" + blob.digest
        let answer = try send(
            "PUT", finish, repository: repository, subject: subject, headers: octets, body: body, retrying: false)
        guard answer.status == 201 else {
            throw Self.rejection(answer, subject: subject, method: "PUT", address: finish)
        }
        if let returned = answer.header("Docker-Content-Digest"), returned != blob.digest {
            throw .digestMismatch(subject: subject, expected: blob.digest, returned: returned)
        }
        sent(Int64(rest))
    }

    /// Where an interrupted upload stands as the registry says (`GET` its Location: 204 with `Range:
    /// 0-<last byte>` and the Location to go on with), or nil when it must start afresh: the registry lost
    /// it, refuses it (Distribution does once it holds part of a cut chunk), or holds nothing yet.
    func uploadStatus(_ session: UploadSession, repository: String, subject: String) -> UploadSession? {
        guard
            let answer = try? send("GET", session.location, repository: repository, subject: subject, retrying: false),
            answer.status == 204, let next = answer.header("Location").map(absolute),
            let last = answer.header("Range")?.split(separator: "-").last.flatMap({ Int64($0) }), last > 0
        else { return nil }
        return UploadSession(location: next, offset: last + 1)
    }

    /// The digest `repository` has under `reference` (a digest or a tag), or nil when it has none.
    public func manifestDigest(_ reference: String, in repository: String, subject: String) throws(PublishError)
        -> String?
    {
        let address = url(repository, "manifests/\(reference)")
        let accept = [OCIMediaType.index, OCIMediaType.manifest].joined(separator: ", ")
        let answer = try send("HEAD", address, repository: repository, subject: subject, headers: ["Accept": accept])
        switch answer.status {
        case 200: return answer.header("Docker-Content-Digest") ?? ""
        case 404: return nil
        default: throw Self.rejection(answer, subject: subject, method: "HEAD", address: address)
        }
    }

    /// `PUT`s a manifest or index under `reference`; the registry must report the digest of `bytes`.
    public func putManifest(
        _ bytes: Data, mediaType: String, digest: String, as reference: String, in repository: String,
        subject: String
    ) throws(PublishError) {
        let address = url(repository, "manifests/\(reference)")
        let answer = try send(
            "PUT", address, repository: repository, subject: subject, headers: ["Content-Type": mediaType],
            body: bytes)
        guard answer.status == 201 || answer.status == 200 else {
            throw Self.rejection(answer, subject: subject, method: "PUT", address: address)
        }
        if let returned = answer.header("Docker-Content-Digest"), returned != digest {
            throw .digestMismatch(subject: subject, expected: digest, returned: returned)
        }
    }

    /// A `Location` made absolute (registries may answer with a path).
    func absolute(_ location: String) -> String {
        location.hasPrefix("/") ? "\(scheme)://\(host)\(location)" : location
    }

    static func rejection(_ answer: HTTPAnswer, subject: String, method: String, address: String) -> PublishError {
        var message = answer.message
        if message.isEmpty, answer.status == 401 {
            message = "unauthorized: the registry refused the user and password"
        }
        if message.isEmpty, answer.status == 403 { message = "denied: the user may not push here" }
        return .rejected(
            subject: subject, method: method, url: shown(address), status: answer.status, message: message)
    }
}
