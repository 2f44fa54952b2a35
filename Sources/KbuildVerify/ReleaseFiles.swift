import Foundation
import KbuildArtifact
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
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw .unreadable(
                path: directory, reason: "no such release directory; expected _output/release-tars of a release")
        }
        guard let all = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw .unreadable(
                path: directory, reason: "cannot list the directory; expected a readable release directory")
        }
        let names = all.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        self.names = names
        self.layout = layout
        func prefix(_ suffix: String) -> String? {
            names.first { $0.hasSuffix(suffix) && $0.count > suffix.count }.map { String($0.dropLast(suffix.count)) }
        }
        project = layout?.project ?? prefix("-src.tar.gz") ?? prefix(".spdx.json") ?? prefix(".intoto.jsonl")
        sha256Sums = layout?.sums("sha256") ?? "SHA256SUMS"
        sha512Sums = layout.map { $0.sums("sha512") } ?? "SHA512SUMS"
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// The files the sums must list: everything but the bookkeeping.
    var summed: [String] { names.filter { !isBookkeeping($0) } }

    /// The release archives: the plan's, else every `*.tar.gz`.
    var tarballs: [String] {
        layout.map { $0.archives.map(\.name).filter(names.contains) } ?? names.filter { $0.hasSuffix(".tar.gz") }
    }

    /// Parses a `sha256sum`-format file: `<hex>  <name>` (or `<hex> *<name>`) per line.
    func sums(_ file: String, hexLength: Int) -> (sums: [Sum], problems: [String])? {
        guard let data = FileManager.default.contents(atPath: path(file)) else { return nil }
        var sums: [Sum] = []
        var problems: [String] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            let hex = line.prefix(hexLength)
            let rest = line.dropFirst(hexLength)
            guard hex.count == hexLength, hex.allSatisfy(\.isHexDigit), rest.hasPrefix("  ") || rest.hasPrefix(" *")
            else {
                problems.append("line \(number + 1) is not '<hex>  <name>': \(line.prefix(80))")
                continue
            }
            sums.append(Sum(hex: hex.lowercased(), name: String(rest.dropFirst(2))))
        }
        return (sums, problems)
    }

    /// `artifacts.json`, decoded, or what is wrong with it.
    func artifacts() -> (list: [ReleaseArtifact], problem: String?) {
        guard let data = FileManager.default.contents(atPath: path("artifacts.json")) else { return ([], "missing") }
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
