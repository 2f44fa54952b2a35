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
    /// sent); false when it would rather have an upload (202).
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

    /// Uploads `blob` to `repository` from its byte range in the release file: `POST` an upload, then
    /// one `PUT ?digest=` with the bytes, or `PATCH` chunks and an empty `PUT ?digest=`. A failure mid-way
    /// starts a fresh upload (the registry drops the abandoned one), up to the client's attempts. `sent`
    /// hears the bytes the registry took, chunk by chunk (a negative count when a failed attempt's are void).
    public func pushBlob(
        _ blob: ArchiveBlob, to repository: String, subject: String, sent: (Int64) -> Void = { _ in }
    ) throws(PublishError) {
        var attempt = 0
        while true {
            attempt += 1
            var taken: Int64 = 0
            do {
                try pushBlobOnce(blob, to: repository, subject: subject) { count in
                    taken += count
                    sent(count)
                }
                return
            } catch {
                if taken > 0 { sent(-taken) }
                let retryable: Bool
                switch error {
                case .unreachable: retryable = true
                case .rejected(_, _, _, let status, _): retryable = status >= 500
                default: retryable = false
                }
                guard retryable, attempt < attempts else { throw error }
                Thread.sleep(forTimeInterval: 0.5 * Double(1 << (attempt - 1)))
            }
        }
    }

    private func pushBlobOnce(
        _ blob: ArchiveBlob, to repository: String, subject: String, sent: (Int64) -> Void
    ) throws(PublishError) {
        let start = url(repository, "blobs/uploads/")
        let started = try send(
            "POST", start, repository: repository, subject: subject, headers: ["Content-Length": "0"])
        guard started.status == 202, var location = started.header("Location").map(absolute) else {
            throw Self.rejection(started, subject: subject, method: "POST", address: start)
        }
        var offset: Int64 = 0
        let octets = ["Content-Type": "application/octet-stream"]
        if blob.size > Int64(Self.chunkSize) {
            while offset < blob.size {
                let count = Int(min(Int64(Self.chunkSize), blob.size - offset))
                let chunk = try TarIndex.read(blob.file, offset: blob.offset + offset, count: count)
                let range = "\(offset)-\(offset + Int64(count) - 1)"
                let answer = try send(
                    "PATCH", location, repository: repository, subject: subject,
                    headers: octets.merging(["Content-Range": range]) { $1 }, body: chunk)
                guard answer.status == 202, let next = answer.header("Location").map(absolute) else {
                    throw Self.rejection(answer, subject: subject, method: "PATCH", address: location)
                }
                location = next
                offset += Int64(count)
                sent(Int64(count))
            }
        }
        let rest = Int(blob.size - offset)
        let body = try TarIndex.read(blob.file, offset: blob.offset + offset, count: rest)
        let finish = location + (location.contains("?") ? "&" : "?") + "digest=" + blob.digest
        let answer = try send("PUT", finish, repository: repository, subject: subject, headers: octets, body: body)
        guard answer.status == 201 else {
            throw Self.rejection(answer, subject: subject, method: "PUT", address: finish)
        }
        if let returned = answer.header("Docker-Content-Digest"), returned != blob.digest {
            throw .digestMismatch(subject: subject, expected: blob.digest, returned: returned)
        }
        sent(Int64(rest))
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
