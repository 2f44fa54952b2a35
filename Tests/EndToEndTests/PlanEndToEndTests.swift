import Foundation
import TestSupport
import Testing

/// `kbuild plan --json` names every file the release then writes: compared with the files on disk and,
/// entry by entry, with what GNU tar lists in each archive.
@Suite(.serialized) struct PlanEndToEndTests {
    /// The fields of docs/plan-json.md this test reads.
    struct Plan: Decodable {
        struct Build: Decodable { var output: String }
        struct Image: Decodable {
            var tarball: String
            var tagFile: String
        }
        struct Entry: Decodable {
            var path: String
            var type: String
            var mode: String?
        }
        struct Archive: Decodable {
            var name: String
            var path: String
            var format: String
            var entries: [Entry]
        }
        struct Side: Decodable {
            var name: String
            var path: String
            var signedOnly: Bool
        }
        var schemaVersion: Int
        var builds: [Build]
        var images: [Image]
        var archives: [Archive]
        var sideFiles: [Side]
    }

    @Test func planJSONListsEveryFileAndEntryTheReleaseWrites() async throws {
        let dir = try TemporaryDirectory("kbuild-plan-e2e")
        defer { dir.remove() }
        let workspace = dir.appending("clone")
        _ = try await Repository.exampleWorkspace(in: workspace, tag: "v1.2.3")
        let environment = ["KUBE_BUILD_PLATFORMS": "linux/amd64", "SOURCE_DATE_EPOCH": "1700000000"]
        let planned = try await runKbuild(["plan", "--json"], in: workspace, environment)
        try #require(planned.succeeded, "\(planned.stderr)")
        let plan = try JSONDecoder().decode(Plan.self, from: Data(planned.stdout.utf8))
        #expect(plan.schemaVersion == 1)
        let release = try await runKbuild(["release"], in: workspace, environment)
        try #require(release.succeeded, "\(release.stderr)\n\(release.stdout)")

        let outputs = plan.builds.map(\.output) + plan.images.flatMap { [$0.tarball, $0.tagFile] }
        for path in outputs { #expect(FileManager.default.fileExists(atPath: workspace + "/" + path), "\(path)") }
        // release-tars holds exactly the planned archives and side files (unsigned: no signature).
        let tars = workspace + "/_output/release-tars"
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: tars))
        let wanted = plan.archives.map(\.name) + plan.sideFiles.filter { !$0.signedOnly }.map(\.name)
        #expect(onDisk == Set(wanted), "on disk, not planned: \(onDisk.subtracting(wanted).sorted())")
        for side in plan.sideFiles { #expect(side.path == "_output/release-tars/" + side.name) }

        for archive in plan.archives {
            #expect(archive.format == "tar.gz")
            let listing = try await Tool.check("tar", ["--numeric-owner", "-tvzf", workspace + "/" + archive.path])
            try Self.compare(archive, with: Self.entries(listing))
        }
    }

    /// `tar -tv` lines as path (directories without their slash) → (type letter, mode).
    static func entries(_ listing: String) -> [String: (type: Character, mode: String)] {
        var entries: [String: (type: Character, mode: String)] = [:]
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let type = fields[0].first else { continue }
            var path = String(fields[5].split(separator: " -> ").first ?? fields[5])
            if path.hasSuffix("/") { path.removeLast() }
            entries[path] = (type, octal(fields[0].dropFirst()))
        }
        return entries
    }

    /// `rwxr-xr-x` → `0755`.
    static func octal(_ permissions: Substring) -> String {
        var digits = "0"
        let bits = Array(permissions)
        for group in 0..<3 {
            var value = 0
            for (offset, weight) in [(0, 4), (1, 2), (2, 1)] where bits.count > group * 3 + offset {
                if bits[group * 3 + offset] != "-" { value += weight }
            }
            digits += String(value)
        }
        return digits
    }

    /// Every planned entry is in the archive with its type and mode; every entry of the archive is planned
    /// (one of the files, a directory, a parent of one, or inside a tree the plan names).
    static func compare(_ archive: Plan.Archive, with listed: [String: (type: Character, mode: String)]) throws {
        #expect(!listed.isEmpty, "\(archive.name): tar lists nothing")
        var parents: Set<String> = []
        for entry in archive.entries {
            var parent = entry.path
            while let slash = parent.lastIndex(of: "/") {
                parent = String(parent[..<slash])
                parents.insert(parent)
            }
            switch entry.type {
            case "file":
                let found = listed[entry.path]
                #expect(
                    found?.type == "-", "\(archive.name): \(entry.path) planned as a file, tar lists \(found as Any)")
                if let mode = entry.mode { #expect(found?.mode == mode, "\(archive.name): \(entry.path) mode") }
            case "directory":
                #expect(listed[entry.path]?.type == "d", "\(archive.name): \(entry.path) planned as a directory")
            default:
                // A tree: its files are found when staged; an empty one (no add-ons) may be absent.
                continue
            }
        }
        let trees = archive.entries.filter { $0.type == "tree" }.map(\.path)
        for path in listed.keys.sorted() {
            let planned =
                archive.entries.contains { $0.path == path } || parents.contains(path)
                || trees.contains { $0.isEmpty || path == $0 || path.hasPrefix($0 + "/") }
            #expect(planned, "\(archive.name): \(path) is in the archive but not in the plan")
        }
    }
}
