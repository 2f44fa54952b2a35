import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest

/// What verify knows about the release as a whole, shared by every tarball's check.
struct ReleaseFacts: Sendable {
    var project: String
    /// The release version (from `<project>/version` or `.kube-git-version`), when found.
    var version: String?
    /// Binaries each tarball kind ships, from the workspace's release config; nil when there is none.
    var binariesByKind: [String: [String]]?
    /// Image artifacts by arch: binary name → reference.
    var imagesByArch: [String: [String: String]]
    /// sha256 of the src and manifests tarballs of the directory, which server and full tarballs nest.
    var nested: [String: String]
}

/// Opens one release tarball and checks it holds what the release layout says.
struct TarballVerifier {
    let facts: ReleaseFacts

    /// How many entries failing one check the same way are listed before the rest are counted.
    static let listedRepeats = 20

    private struct Binary {
        var entry: String
        var format: BinaryFormat?
        var hasVersion: Bool
        var md5: String
    }

    /// The checks, and the sha256 of every image tarball inside that passed all of its own.
    func verify(_ path: String, artifact: ReleaseArtifact) -> (checks: [VerifyCheck], images: Set<String>) {
        let name = artifact.name
        let project = facts.project
        var checks: [VerifyCheck] = []
        var verifiedImages: Set<String> = []
        // A hostile tarball may fail the same way for each of 400,000 entries: the first few are
        // listed, the rest counted (memory and output stay bounded).
        var repeats: [String: Int] = [:]
        func fail(_ subject: String, _ detail: String) {
            repeats[detail, default: 0] += 1
            if repeats[detail, default: 0] <= Self.listedRepeats { checks.append(.fail("layout", subject, detail)) }
        }
        let kind = artifact.kind
        let platform = artifact.os.flatMap { os in artifact.arch.map { (os: os, arch: $0) } }
        let binDirectory = "\(project)/\(kind)/bin/"
        // Only the entries a check looks up are kept, not every name of the tarball.
        let required = [
            "\(project)/version", "\(project)/server/\(project)-manifests.tar.gz", "\(project)/\(project)-src.tar.gz",
        ]
        var entries: Set<String> = []
        var entryCount = 0
        var oversized: [String: Int64] = [:]
        var binaries: [String: Binary] = [:]
        var imageTars: [String: Data] = [:]
        var imageDigests: [String: String] = [:]
        var dockerTags: [String: String] = [:]
        var texts: [String: String] = [:]
        var nestedDigests: [String: String] = [:]
        let needle = facts.version ?? ""
        do {
            let reader = try TarReader(path: path)
            while let header = try reader.next() {
                entryCount += 1
                if required.contains(header.path) { entries.insert(header.path) }
                if kind == "manifests", !header.path.hasPrefix("\(project)/addons"), header.path != project,
                    header.path != project + "/"
                {
                    fail("\(name)!\(header.path)", "is not under \(project)/addons/")
                }
                guard SafePath.staysInside(header.path) else {
                    fail("\(name)!\(header.path)", "entry leaves the archive root")
                    continue
                }
                guard header.kind == .file else { continue }
                let entry = header.path
                if entry.hasPrefix(binDirectory), !entry.dropFirst(binDirectory.count).contains("/") {
                    let file = String(entry.dropFirst(binDirectory.count))
                    if file.hasSuffix(".tar"), header.size > ImageVerifier.maxBytes {
                        oversized[String(file.dropLast(4))] = header.size
                    } else if file.hasSuffix(".tar") {
                        let bytes = Data(try reader.readAll(limit: Int(ImageVerifier.maxBytes)))
                        imageTars[String(file.dropLast(4))] = bytes
                        imageDigests[String(file.dropLast(4))] = Digest.of(bytes, .sha256).hex
                    } else if file.hasSuffix(".docker_tag") {
                        dockerTags[String(file.dropLast(11))] = String(
                            decoding: try reader.readAll(limit: 4096), as: UTF8.self)
                    } else {
                        var scanner = BinaryScanner(looking: needle)
                        var hasher = Digest.Hasher(.md5)
                        try reader.readData { chunk in
                            scanner.update(chunk)
                            hasher.update(chunk)
                        }
                        binaries[file] = Binary(
                            entry: entry, format: BinaryFormat.detect(scanner.header), hasVersion: scanner.found,
                            md5: hasher.finalize().hex)
                    }
                } else if ["\(project)/version", ".kube-git-version"].contains(entry) {
                    texts[entry] = String(decoding: try reader.readAll(limit: 1 << 16), as: UTF8.self)
                } else if entry.hasSuffix(".tar.gz"), let nested = facts.nested[Paths.name(of: entry)] {
                    var hasher = Digest.Hasher(.sha256)
                    try reader.readData { hasher.update($0) }
                    nestedDigests[entry] = hasher.finalize().hex
                    if nestedDigests[entry] != nested {
                        fail("\(name)!\(entry)", "differs from \(Paths.name(of: entry)) of the release directory")
                    }
                }
            }
        } catch {
            return ([.fail("layout", name, "does not open as a tar.gz: \(error)")], [])
        }

        switch kind {
        case "src":
            if texts[".kube-git-version"] == nil { fail(name, "has no .kube-git-version") }
        case "manifests":
            break  // checked entry by entry while reading
        case "full":
            if let version = facts.version, let text = texts["\(project)/version"], text != version + "\n" {
                fail(
                    "\(name)!\(project)/version",
                    "says \(text.trimmingCharacters(in: .whitespacesAndNewlines)), the release is \(version)")
            }
            for required in ["\(project)/version", "\(project)/server/\(project)-manifests.tar.gz"]
            where !entries.contains(required) {
                fail(name, "has no \(required)")
            }
        case "client", "server", "node", "test":
            guard let platform else {
                fail(name, "artifacts.json gives no os/arch for this \(kind) tarball")
                break
            }
            let suffix = platform.os == "windows" ? ".exe" : ""
            if let expected = facts.binariesByKind?[kind] {
                let want = Set(expected.map { $0 + suffix })
                for missing in want.subtracting(binaries.keys).sorted() {
                    fail(name, "has no \(binDirectory)\(missing) (the release config ships it in \(kind) tarballs)")
                }
                for extra in Set(binaries.keys).subtracting(want).sorted() {
                    fail("\(name)!\(binDirectory)\(extra)", "is not a \(kind) binary of the release config")
                }
            } else if binaries.isEmpty {
                fail(name, "has no binaries under \(binDirectory)")
            }
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
                if let version = facts.version, !binary.hasVersion {
                    ok = false
                    checks.append(.fail("binary", subject, "does not carry the release version \(version)"))
                }
                if ok {
                    checks.append(
                        .ok("binary", subject, "\(expectedFormat), carries \(facts.version ?? "no known version")"))
                }
            }
            if kind == "server" {
                let images = verifyImages(
                    name: name, platform: platform, binaries: binaries, imageTars: imageTars, dockerTags: dockerTags,
                    oversized: oversized)
                checks += images.flatMap(\.value)
                for (binary, found) in images where !found.contains(where: { $0.status == .fail }) {
                    if let digest = imageDigests[binary] { verifiedImages.insert(digest) }
                }
                if !entries.contains("\(project)/\(project)-src.tar.gz") {
                    fail(name, "has no \(project)/\(project)-src.tar.gz")
                }
            }
        default:
            fail(name, "artifacts.json gives the unknown kind \(kind)")
        }
        for (detail, count) in repeats.sorted(by: { $0.key < $1.key }) where count > Self.listedRepeats {
            checks.append(
                .fail("layout", name, "\(count - Self.listedRepeats) more entries (\(count) in all): \(detail)"))
        }
        if !checks.contains(where: { $0.check == "layout" }) {
            checks.insert(.ok("layout", name, "opens; \(entryCount) entries as the \(kind) layout says"), at: 0)
        }
        return (checks, verifiedImages)
    }

    private func verifyImages(
        name: String, platform: (os: String, arch: String), binaries: [String: Binary], imageTars: [String: Data],
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
