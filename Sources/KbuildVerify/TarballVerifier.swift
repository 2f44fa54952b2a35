import Foundation
import KbuildArchive
import KbuildArtifact
import KbuildCore
import KbuildDigest

/// What verify knows about the release as a whole, shared by every tarball's check.
struct ReleaseFacts: Sendable {
    var project: String
    /// The release version (from `<project>/version` or `.kube-git-version`), when found.
    var version: String?
    /// The text every binary must carry: the version as the release stamps it (`v1.2.3`, or `1.2.3` when
    /// only `bareVersion` is stamped); nil when the release stamps no version or it is unknown.
    var stampedVersion: String?
    /// Binaries each archive ships (by archive name), from the workspace's plan; nil when there is none.
    var binariesByArchive: [String: [String]]?
    /// Image artifacts by arch: binary name → reference.
    var imagesByArch: [String: [String: String]]
    /// sha256 of the src and manifests tarballs of the directory, which server and full tarballs nest.
    var nested: [String: String]
}

/// Opens one release tarball and checks it holds what the release layout says.
struct TarballVerifier {
    let facts: ReleaseFacts

    private struct Binary {
        var entry: String
        var format: BinaryFormat?
        var hasVersion: Bool
        var md5: String
    }

    /// What one pass over a tarball found: every entry, and the contents the checks look into.
    private struct Contents {
        /// Only the entries a check looks up, not every name of the tarball.
        var entries: Set<String> = []
        var entryCount = 0
        /// Image tarballs over `ImageVerifier.maxBytes`, refused unread: binary name → size.
        var oversized: [String: Int64] = [:]
        var binaries: [String: Binary] = [:]
        var imageTars: [String: ImageScan.Found] = [:]
        var imageDigests: [String: String] = [:]
        var dockerTags: [String: String] = [:]
        var texts: [String: String] = [:]
        var failures = BoundedFailures()
    }

    /// The checks, and the sha256 of every image tarball inside that passed all of its own.
    func verify(_ path: String, artifact: ReleaseArtifact) -> (checks: [VerifyCheck], images: Set<String>) {
        let name = artifact.name
        let kind = artifact.kind
        let contents: Contents
        do {
            contents = try read(path, name: name, kind: kind)
        } catch {
            return ([.fail("layout", name, "does not open as a tar.gz: \(error)")], [])
        }
        var (checks, images) = checkKind(artifact, contents)
        checks = contents.failures.checks + checks
        if !checks.contains(where: { $0.check == "layout" }) {
            checks.insert(
                .ok("layout", name, "opens; \(contents.entryCount) entries as the \(kind) layout says"), at: 0)
        }
        return (checks, images)
    }

    /// One pass over the tarball: binaries scanned for their format and version, images and tags read,
    /// the version files read, nested tarballs hashed against the ones beside.
    private func read(_ path: String, name: String, kind: ArtifactKind) throws -> Contents {
        let project = facts.project
        let binDirectory = "\(project)/\(kind.rawValue)/bin/"
        let required: Set = [
            "\(project)/version", "\(project)/server/\(project)-manifests.tar.gz", "\(project)/\(project)-src.tar.gz",
        ]
        var contents = Contents()
        let needle = facts.stampedVersion ?? ""
        let reader = try TarReader(path: path)
        while let header = try reader.next() {
            let entry = header.path
            contents.entryCount += 1
            if required.contains(entry) { contents.entries.insert(entry) }
            if kind == .manifests, !entry.hasPrefix("\(project)/addons"), entry != project, entry != project + "/" {
                contents.failures.fail("layout", archive: name, entry: entry, "is not under \(project)/addons/")
            }
            guard SafePath.staysInside(entry) else {
                contents.failures.fail("layout", archive: name, entry: entry, "entry leaves the archive root")
                continue
            }
            guard header.kind == .file else { continue }
            if entry.hasPrefix(binDirectory), !entry.dropFirst(binDirectory.count).contains("/") {
                let file = String(entry.dropFirst(binDirectory.count))
                if file.hasSuffix(".tar"), header.size > ImageVerifier.maxBytes {
                    contents.oversized[String(file.dropLast(4))] = header.size
                } else if file.hasSuffix(".tar") {
                    // Streamed as it is inflated: never the image, nor a layer, in memory.
                    let scan = ImageScan(binary: String(file.dropLast(4)))
                    try reader.readData { scan.feed($0) }
                    let found = scan.finish()
                    contents.imageTars[String(file.dropLast(4))] = found
                    contents.imageDigests[String(file.dropLast(4))] = found.sha256
                } else if file.hasSuffix(".docker_tag") {
                    contents.dockerTags[String(file.dropLast(11))] = String(
                        decoding: try reader.readAll(limit: 4096), as: UTF8.self)
                } else {
                    var scanner = BinaryScanner(looking: needle)
                    var hasher = Digest.Hasher(.md5)
                    try reader.readData { chunk in
                        scanner.update(chunk)
                        hasher.update(chunk)
                    }
                    contents.binaries[file] = Binary(
                        entry: entry, format: BinaryFormat.detect(scanner.header), hasVersion: scanner.found,
                        md5: hasher.finalize().hex)
                }
            } else if ["\(facts.project)/version", ".kube-git-version"].contains(entry) {
                contents.texts[entry] = String(decoding: try reader.readAll(limit: 1 << 16), as: UTF8.self)
            } else if entry.hasSuffix(".tar.gz"), let nested = facts.nested[Paths.name(of: entry)] {
                var hasher = Digest.Hasher(.sha256)
                try reader.readData { hasher.update($0) }
                if hasher.finalize().hex != nested {
                    contents.failures.fail(
                        "layout", archive: name, entry: entry,
                        "differs from \(Paths.name(of: entry)) of the release directory")
                }
            }
        }
        return contents
    }

    /// What each kind of Kubernetes tarball must hold.
    private func checkKind(_ artifact: ReleaseArtifact, _ contents: Contents) -> ([VerifyCheck], Set<String>) {
        let (name, kind, project) = (artifact.name, artifact.kind, facts.project)
        var checks: [VerifyCheck] = []
        func fail(_ subject: String, _ detail: String) { checks.append(.fail("layout", subject, detail)) }
        switch kind {
        case .src:
            if contents.texts[".kube-git-version"] == nil { fail(name, "has no .kube-git-version") }
        case .manifests:
            break  // checked entry by entry while reading
        case .full:
            if let version = facts.version, let text = contents.texts["\(project)/version"], text != version + "\n" {
                fail(
                    "\(name)!\(project)/version",
                    "says \(text.trimmingCharacters(in: .whitespacesAndNewlines)), the release is \(version)")
            }
            for required in ["\(project)/version", "\(project)/server/\(project)-manifests.tar.gz"]
            where !contents.entries.contains(required) {
                fail(name, "has no \(required)")
            }
        case .client, .server, .node, .test:
            guard let os = artifact.os, let arch = artifact.arch else {
                fail(name, "artifacts.json gives no os/arch for this \(kind) tarball")
                break
            }
            return checkPlatformTarball(artifact, platform: (os, arch), contents)
        default:
            fail(name, "artifacts.json gives the unknown kind \(kind)")
        }
        return (checks, [])
    }

    /// A platform tarball: exactly the planned binaries, each of the platform's format and carrying the
    /// version; a server tarball's images and its nested src tarball.
    private func checkPlatformTarball(
        _ artifact: ReleaseArtifact, platform: (os: String, arch: String), _ contents: Contents
    ) -> ([VerifyCheck], Set<String>) {
        let (name, kind, project) = (artifact.name, artifact.kind, facts.project)
        let binDirectory = "\(project)/\(kind.rawValue)/bin/"
        var checks: [VerifyCheck] = []
        func fail(_ subject: String, _ detail: String) { checks.append(.fail("layout", subject, detail)) }
        let suffix = platform.os == "windows" ? ".exe" : ""
        if let expected = facts.binariesByArchive?[name] {
            let want = Set(expected.map { $0 + suffix })
            for missing in want.subtracting(contents.binaries.keys).sorted() {
                fail(name, "has no \(binDirectory)\(missing) (the plan ships it in this archive)")
            }
            for extra in Set(contents.binaries.keys).subtracting(want).sorted() {
                fail("\(name)!\(binDirectory)\(extra)", "is not a binary the plan ships in this archive")
            }
        } else if contents.binaries.isEmpty {
            fail(name, "has no binaries under \(binDirectory)")
        }
        checks += checkBinaries(name, platform: platform, contents.binaries)
        var verified: Set<String> = []
        if kind == .server {
            let images = verifyImages(
                name: name, platform: platform, binaries: contents.binaries, imageTars: contents.imageTars,
                dockerTags: contents.dockerTags, oversized: contents.oversized)
            checks += images.flatMap(\.value)
            for (binary, found) in images where !found.contains(where: { $0.status == .fail }) {
                if let digest = contents.imageDigests[binary] { verified.insert(digest) }
            }
            if !contents.entries.contains("\(project)/\(project)-src.tar.gz") {
                fail(name, "has no \(project)/\(project)-src.tar.gz")
            }
        }
        return (checks, verified)
    }

    /// Each binary is of the platform's format and carries the release version.
    private func checkBinaries(_ name: String, platform: (os: String, arch: String), _ binaries: [String: Binary])
        -> [VerifyCheck]
    {
        var checks: [VerifyCheck] = []
        let expectedFormat = BinaryFormat.expected(os: platform.os, arch: platform.arch)
        for binary in binaries.sorted(by: { $0.key < $1.key }).map(\.value) {
            let subject = "\(name)!\(binary.entry)"
            var ok = true
            if binary.format != expectedFormat {
                ok = false
                checks.append(
                    .fail(
                        "binary", subject,
                        "is \(binary.format?.description ?? "not an executable"), "
                            + "\(platform.os)/\(platform.arch) needs \(expectedFormat)"))
            }
            if let version = facts.stampedVersion, !binary.hasVersion {
                ok = false
                checks.append(.fail("binary", subject, "does not carry the release version \(version)"))
            }
            if ok {
                checks.append(
                    .ok("binary", subject, "\(expectedFormat), carries \(facts.stampedVersion ?? "no stamped version")")
                )
            }
        }
        return checks
    }

    private func verifyImages(
        name: String, platform: (os: String, arch: String), binaries: [String: Binary],
        imageTars: [String: ImageScan.Found],
        dockerTags: [String: String], oversized: [String: Int64]
    ) -> [(key: String, value: [VerifyCheck])] {
        var checks: [(key: String, value: [VerifyCheck])] = []
        let bin = "\(facts.project)/server/bin/"
        let expected = platform.os == "linux" ? facts.imagesByArch[platform.arch] ?? [:] : [:]
        for binary in Set(expected.keys).union(imageTars.keys).union(oversized.keys).sorted() {
            let subject = "\(name)!\(bin)\(binary).tar"
            if let size = oversized[binary] {
                checks.append((binary, [.fail("image", subject, ImageVerifier.oversized(size))]))
                continue
            }
            guard let tar = imageTars[binary] else {
                checks.append(
                    (binary, [.fail("image", name, "has no \(bin)\(binary).tar (artifacts.json lists the image)")]))
                continue
            }
            guard let reference = expected[binary] else {
                checks.append((binary, [.fail("image", subject, "is not an image artifact of artifacts.json")]))
                continue
            }
            guard let tag = dockerTags[binary] else {
                checks.append((binary, [.fail("image", name, "has no \(bin)\(binary).docker_tag")]))
                continue
            }
            let found = ImageVerifier().verify(
                tar, subject: subject,
                expecting: ImageExpectation(
                    binary: binary, arch: platform.arch, reference: reference,
                    tag: tag.trimmingCharacters(in: .whitespacesAndNewlines), binaryMD5: binaries[binary]?.md5))
            checks.append((binary, found))
        }
        return checks
    }
}
