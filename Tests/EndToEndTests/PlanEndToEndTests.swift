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
        struct Source: Decodable {
            var kind: String
            var tree: String?
        }
        struct Entry: Decodable {
            var path: String
            var type: String
            var mode: String?
            var source: Source
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
            let listing = try await LayoutEndToEndTests.tarListing(workspace + "/" + archive.path)
            Self.compare(archive, with: Self.entries(listing))
        }
        // The trees are listed file by file: cluster/ in the full tarball, the add-ons in the server's.
        let full = try #require(plan.archives.first { $0.name == "kubernetes.tar.gz" })
        let script = full.entries.first { $0.path == "kubernetes/cluster/scripts/kube-up.sh" }
        #expect(script?.type == "file" && script?.mode == "0755" && script?.source.tree == "cluster")
        let server = try #require(plan.archives.first { $0.name == "kubernetes-server-linux-amd64.tar.gz" })
        #expect(server.entries.contains { $0.path == "kubernetes/addons/dns/coredns-1.11.yaml" })
    }

    /// A configured layout's trees (etcd's `Documentation/`), in tar.gz and zip, entry by entry.
    @Test func planJSONListsEveryTreeFileOfAConfiguredLayout() async throws {
        let dir = try TemporaryDirectory("kbuild-plan-e2e")
        defer { dir.remove() }
        let workspace = dir.appending("etcd")
        _ = try await Repository.layoutWorkspace("etcd", in: workspace, tag: "v3.5.9")
        let environment = ["SOURCE_DATE_EPOCH": "1700000000"]
        let planned = try await runKbuild(["plan", "--json"], in: workspace, environment)
        try #require(planned.succeeded, "\(planned.stderr)")
        let plan = try JSONDecoder().decode(Plan.self, from: Data(planned.stdout.utf8))
        let release = try await runKbuild(["release"], in: workspace, environment)
        try #require(release.succeeded, "\(release.stderr)\n\(release.stdout)")
        #expect(Set(plan.archives.map(\.format)) == ["tar.gz", "zip"])
        for archive in plan.archives {
            let path = workspace + "/" + archive.path
            let listing =
                archive.format == "zip"
                ? try await LayoutEndToEndTests.zipListing(path) : try await LayoutEndToEndTests.tarListing(path)
            Self.compare(archive, with: Self.entries(listing))
            let documentation = archive.entries.filter { $0.source.tree == "Documentation" }.map(\.path)
            #expect(documentation.count == 3, "\(archive.name): \(documentation)")
        }
    }

    /// `<mode> <path>` lines (`-rwxr-xr-x a/b`, directories with their slash) as path → (type letter, mode).
    static func entries(_ listing: [String]) -> [String: (type: Character, mode: String)] {
        var entries: [String: (type: Character, mode: String)] = [:]
        for line in listing {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let type = fields[0].first else { continue }
            var path = String(fields[1])
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
    /// (one of the files, a directory, or a parent of one). Only git's tree (the src tarball) is listed as
    /// a `tree`; every other file is its own entry with its mode.
    static func compare(_ archive: Plan.Archive, with listed: [String: (type: Character, mode: String)]) {
        #expect(!listed.isEmpty, "\(archive.name): lists nothing")
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
                #expect(found?.type == "-", "\(archive.name): \(entry.path) planned as a file, listed \(found as Any)")
                #expect(entry.mode != nil && found?.mode == entry.mode, "\(archive.name): \(entry.path) mode")
            case "directory":
                #expect(listed[entry.path]?.type == "d", "\(archive.name): \(entry.path) planned as a directory")
            default:
                #expect(
                    entry.type == "tree" && entry.source.kind == "gitTree",
                    "\(archive.name): \(entry.path) is a \(entry.type) of \(entry.source.kind)")
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
