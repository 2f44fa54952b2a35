import Foundation
import KbuildCore
import KbuildDigest

/// Uploads a release's files (`release-tars`: tarballs, side files, artifacts.json, SBOM, provenance,
/// signature, sums) with HTTP `PUT` under a URL prefix, as Artifactory and Nexus raw repositories and
/// WebDAV servers take them. Files the server already has identical are skipped; the sums files go last,
/// SHA256SUMS the very last, so a reader who sees it finds every file it names.
public struct ReleaseUploader: Sendable {
    /// `http(s)://host[:port]/path`, without a trailing slash.
    public let prefix: String
    /// `Basic …` (netrc) or `Bearer …` (a token variable), sent with every request; never printed.
    let authorization: String?
    let transport = HTTPTransport()
    public let jobs: Int
    /// Tries of one request: the first and three more, as the registry client.
    let attempts = 4

    /// Files up to this size are compared by content (GET) before they are skipped.
    static let compareLimit: Int64 = 1 << 20

    public init(prefix: String, authorization: String?, jobs: Int = 4) {
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.authorization = authorization
        self.jobs = max(1, jobs)
    }

    /// The files to upload from `directory`, in upload order: regular files only (a symlink or FIFO in
    /// a release is skipped, never followed), the sums files last.
    public static func files(in directory: String) throws(PublishError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .io(path: directory, reason: Escaping.reason(of: error))
        }
        let regular = names.filter { name in
            var info = stat()
            return lstat(directory + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
                && !name.hasPrefix(".")
        }
        let last = ["SHA256SUMS.sig", "SHA512SUMS", "SHA256SUMS"]
        return regular.filter { !last.contains($0) }.sorted() + last.filter(regular.contains)
    }

    /// Uploads every file of `directory` not already there; returns (uploaded, skipped) names. `report`
    /// gets each file, and the bytes done of all files (under the prefix) as they finish.
    public func upload(_ directory: String, report: @escaping @Sendable (PublishEvent) -> Void) async throws
        -> (uploaded: [String], skipped: [String])
    {
        let names = try Self.files(in: directory)
        let isSum: @Sendable (String) -> Bool = { $0.hasPrefix("SHA256SUMS") || $0.hasPrefix("SHA512SUMS") }
        let sizes = names.map { name in
            var info = stat()
            return lstat(directory + "/" + name, &info) == 0 ? Int64(info.st_size) : 0
        }
        let size = Dictionary(uniqueKeysWithValues: zip(names, sizes))
        let bytes = TransferProgress(.upload, totals: [prefix: sizes.reduce(0, +)], report: report)
        defer { bytes.finish() }
        let uploader = self
        let one = { @Sendable (name: String) throws(PublishError) -> Bool in
            bytes.started(uploader.prefix, name)
            let uploaded = try uploader.uploadOne(name, from: directory)
            bytes.finished(uploader.prefix, name, bytes: size[name] ?? 0)
            report(
                .file(
                    name: name, path: directory + "/" + name, url: uploader.prefix + "/" + name,
                    size: size[name] ?? 0, uploaded: uploaded))
            return uploaded
        }
        // Everything but the sums at once (bounded), then the sums one by one, in order.
        let outcomes =
            try await concurrentMap(names.filter { !isSum($0) }, limit: jobs) { name in
                try await Blocking.run { () throws(PublishError) -> Bool in try one(name) }
            }
            + (try await Blocking.run { () throws(PublishError) -> [Bool] in
                var done: [Bool] = []
                for name in names where isSum(name) { done.append(try one(name)) }
                return done
            })
        let ordered = names.filter { !isSum($0) } + names.filter(isSum)
        return (
            zip(ordered, outcomes).filter { $0.1 }.map(\.0), zip(ordered, outcomes).filter { !$0.1 }.map(\.0)
        )
    }

    /// PUTs one file unless the server has it identical; true when it was uploaded.
    func uploadOne(_ name: String, from directory: String) throws(PublishError) -> Bool {
        let path = directory + "/" + name
        let address = prefix + "/" + name
        guard let url = URL(string: address) else {
            throw .unreachable(subject: name, url: address, reason: "not a valid URL")
        }
        if try identical(path, at: url, name: name, in: directory) { return false }
        var headers = ["Content-Type": "application/octet-stream"]
        if let authorization { headers["Authorization"] = authorization }
        let answer = try send("PUT", url, headers: headers, body: .file(path), name: name)
        guard (200..<300).contains(answer.status) else {
            throw RegistryClient.rejection(answer, subject: name, method: "PUT", address: address)
        }
        return true
    }

    /// Whether the server has this file with the same bytes: same size (HEAD) and, where the server
    /// reports a sha256 (Artifactory's X-Checksum-Sha256), the same digest; small files are compared
    /// whole, large ones through their `.sha256` side file on the server.
    func identical(_ path: String, at url: URL, name: String, in directory: String) throws(PublishError) -> Bool {
        var headers: [String: String] = [:]
        if let authorization { headers["Authorization"] = authorization }
        let head = try send("HEAD", url, headers: headers, name: name)
        if head.status == 404 { return false }
        guard head.status == 200 else {
            throw RegistryClient.rejection(head, subject: name, method: "HEAD", address: url.absoluteString)
        }
        var info = stat()
        guard lstat(path, &info) == 0, head.header("Content-Length") == String(info.st_size) else { return false }
        let local = { () throws(PublishError) -> String in
            do { return try Digest.file(path, .sha256).hex } catch { throw .io(path: path, reason: "\(error)") }
        }
        if let reported = head.header("X-Checksum-Sha256") { return try reported.lowercased() == local() }
        let compared = Int64(info.st_size) <= Self.compareLimit ? url : URL(string: url.absoluteString + ".sha256")
        let side = Int64(info.st_size) <= Self.compareLimit ? path : path + ".sha256"
        guard let compared, let mine = FileManager.default.contents(atPath: side) else { return false }
        let got = try send("GET", compared, headers: headers, name: name)
        return got.status == 200 && got.body == mine
    }

    /// Sends one request, again after 0.5, 1 and 2 s while the server is unreachable or answers a
    /// transient 5xx (a PUT replaces the whole file, so repeating it is safe).
    private func send(
        _ method: String, _ url: URL, headers: [String: String], body: HTTPTransport.Body = .none, name: String
    ) throws(PublishError) -> HTTPAnswer {
        var attempt = 0
        while true {
            attempt += 1
            switch transport.send(method, url, headers: headers, body: body) {
            case .failure(let failure):
                guard failure.retryable, attempt < attempts else {
                    throw .unreachable(subject: name, url: url.absoluteString, reason: failure.reason)
                }
            case .success(let answer):
                guard RegistryClient.retryable(answer.status), attempt < attempts else { return answer }
            }
            Thread.sleep(forTimeInterval: 0.5 * Double(1 << (attempt - 1)))
        }
    }
}
