import Foundation
import KbuildArtifact
import KbuildCore
import KbuildDigest

/// The files of a release directory (`_output/release-tars`) and what its own lists say about them.
struct ReleaseFiles: Sendable {
    /// One line of SHA256SUMS / SHA512SUMS.
    struct Sum: Sendable, Hashable {
        var hex: String
        var name: String
    }

    let directory: String
    /// Every regular file name in the directory, sorted.
    let names: [String]
    /// The project: the plan's, else the prefix of the src tarball, SBOM or provenance; nil when none says.
    let project: String?
    /// The layout the workspace's plan gives; nil without a workspace config (Kubernetes' layout assumed).
    let layout: ReleaseLayout?
    /// The sums files' names: the plan's, else `SHA256SUMS` and `SHA512SUMS`.
    let sha256Sums: String
    let sha512Sums: String?
    /// The signature over the sha256 sums.
    var signature: String { sha256Sums + ".sig" }
    /// What is in the directory that is not a regular file (a symlink, a FIFO, a directory…), by name: never
    /// opened, each a failed check.
    let refused: [String: String]
    /// The directory, read beneath it only (no symlink followed, no FIFO opened).
    let tree: Beneath
    /// Side files (sums, artifacts.json, documents) are small: more is refused, not read.
    static let sideFileLimit = 64 << 20

    /// The release's own bookkeeping files: never listed in the sums (the agreed file set, docs/verify.md).
    func isBookkeeping(_ name: String) -> Bool {
        if let layout {
            return layout.sideFiles.contains { $0.name == name && $0.kind != .sbom }
        }
        return [sha256Sums, sha512Sums, signature, "artifacts.json"].contains(name)
            || project.map { name == "\($0).intoto.jsonl" } ?? name.hasSuffix(".intoto.jsonl")
            || name.hasSuffix(".sha256") || name.hasSuffix(".sha512")
    }

    init(directory: String, layout: ReleaseLayout? = nil) throws(VerifyError) {
        self.directory = directory
        let tree = Beneath(directory)
        self.tree = tree
        let entries: [Beneath.Entry]
        do {
            entries = try tree.list()
        } catch {
            let reason = error.reason == "does not exist" ? "no such release directory" : error.reason
            throw .unreadable(path: directory, reason: reason + "; expected _output/release-tars of a release")
        }
        let names = entries.filter(\.isRegularFile).map(\.name)
        self.names = names
        refused = Dictionary(
            uniqueKeysWithValues: entries.filter { !$0.isRegularFile }.map { ($0.name, tree.describe($0.name)) })
        self.layout = layout
        func prefix(_ suffix: String) -> String? {
            names.first { $0.hasSuffix(suffix) && $0.count > suffix.count }.map { String($0.dropLast(suffix.count)) }
        }
        project = layout?.project ?? prefix("-src.tar.gz") ?? prefix(".spdx.json") ?? prefix(".intoto.jsonl")
        sha256Sums = layout?.sums("sha256") ?? "SHA256SUMS"
        sha512Sums = layout.map { $0.sums("sha512") } ?? "SHA512SUMS"
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// The bytes of the regular file `name` (at most `sideFileLimit`), or nil when it is not one.
    func contents(_ name: String) -> Data? {
        guard names.contains(name) else { return nil }
        return try? tree.read(name, limit: Self.sideFileLimit)
    }

    /// Why `name` cannot be read: "missing", or what it is ("is a symlink to /x; allowed: a regular file").
    func absence(_ name: String) -> String {
        if let reason = refused[name] { return reason + "; allowed: a regular file" }
        return names.contains(name) ? "cannot be read (larger than 64 MiB, or unreadable)" : "missing"
    }

    /// The files the sums must list: everything but the bookkeeping.
    var summed: [String] { names.filter { !isBookkeeping($0) } }

    /// The release archives: the plan's, else every `*.tar.gz`.
    var tarballs: [String] {
        layout.map { $0.archives.map(\.name).filter(names.contains) } ?? names.filter { $0.hasSuffix(".tar.gz") }
    }

    /// Parses a `sha256sum`-format file: `<hex>  <name>` (or `<hex> *<name>`) per LF-ended line; a CR
    /// before the LF or a name listed twice is a problem, never part of a name.
    func sums(_ file: String, hexLength: Int) -> (sums: [Sum], problems: [String])? {
        guard let data = contents(file) else { return nil }
        var sums: [Sum] = []
        var problems: [String] = []
        var seen: Set<String> = []
        var crlf: Int?
        for (number, bytes) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
        where !bytes.isEmpty {
            // Reported once; the line is still parsed, so the other checks say what they would.
            if bytes.last == 0x0D, crlf == nil { crlf = number + 1 }
            let line = String(decoding: bytes.last == 0x0D ? bytes.dropLast() : bytes, as: UTF8.self)
            let hex = line.prefix(hexLength)
            let rest = line.dropFirst(hexLength)
            guard hex.count == hexLength, hex.allSatisfy(\.isHexDigit), rest.hasPrefix("  ") || rest.hasPrefix(" *")
            else {
                problems.append("line \(number + 1) is not '<hex>  <name>': \(Escaping.shown(String(line.prefix(80))))")
                continue
            }
            let name = String(rest.dropFirst(2))
            guard seen.insert(name).inserted else {
                problems.append("line \(number + 1) lists \(Escaping.shown(name)) again; allowed: each file once")
                continue
            }
            sums.append(Sum(hex: hex.lowercased(), name: name))
        }
        if let crlf {
            problems.insert(
                "has CRLF line endings (from line \(crlf)); allowed: LF line endings as sha256sum writes", at: 0)
        }
        return (sums, problems)
    }

    /// `artifacts.json`, decoded, or what is wrong with it.
    func artifacts() -> (list: [ReleaseArtifact], problem: String?) {
        guard let data = contents("artifacts.json") else { return ([], absence("artifacts.json")) }
        guard let list = try? JSONDecoder().decode([ReleaseArtifact].self, from: data) else {
            return ([], "not a JSON list of artifacts (name, path, kind, size, sha256)")
        }
        return (list, nil)
    }
}

/// One entry of `artifacts.json` (the fields verify needs; the writer is KbuildRelease's `Artifact`).
struct ReleaseArtifact: Codable, Sendable, Hashable {
    var name: String
    /// Relative to `_output`: `release-tars/<name>` or `release-images/<arch>/<bin>.tar`.
    var path: String
    var kind: ArtifactKind
    var os: String?
    var arch: String?
    var size: Int64
    var sha256: String
    var image: String?
}
