import Foundation
import KbuildArtifact
import KbuildCore
import KbuildDigest

/// `kbuild verify`: every offline check of a release directory, each one line of the report.
public struct ReleaseVerifier: Sendable {
    /// The release directory (`_output/release-tars`).
    public var directory: String
    /// The workspace: its git repository holds the sources.
    public var workspace: String?
    /// The release as the workspace's plan lays it out (archives, entries, side files); nil without a
    /// release config, when Kubernetes' layout is checked by its conventions alone.
    public var layout: ReleaseLayout?
    /// Which form of the version the release config stamps into the binaries, which each must carry.
    public var stamped: StampedVersion = .version
    /// Verifies the signatures with this key.
    public var key: Ed25519PublicKey?
    /// How many tarballs are checked at once.
    public var jobs: Int
    public var runner: any ProcessRunner

    public init(
        directory: String, workspace: String?, layout: ReleaseLayout? = nil, key: Ed25519PublicKey? = nil,
        jobs: Int = ProcessInfo.processInfo.activeProcessorCount, runner: any ProcessRunner = SubprocessRunner()
    ) {
        self.directory = directory
        self.workspace = workspace
        self.layout = layout
        self.key = key
        self.jobs = max(1, jobs)
        self.runner = runner
    }

    /// The version the release records (`.kube-git-version` in its `-src` tarball), for `kbuild publish`'s tag.
    public static func recordedVersion(directory: String) -> String? {
        guard let files = try? ReleaseFiles(directory: directory), let project = files.project,
            let file = try? files.tree.open("\(project)-src.tar.gz")
        else { return nil }
        return SourceVerifier.recordedVersion(in: file.reopenPath)
    }

    /// Runs every check; throws only when the directory itself cannot be read. Everything that reads,
    /// hashes or inflates runs on threads of its own (`Blocking.run`), never on the cooperative pool.
    public func verify() async throws(VerifyError) -> VerifyReport {
        let (files, artifacts, problem, facts) = try await Blocking.run { () throws(VerifyError) in
            let files = try ReleaseFiles(directory: directory, layout: layout)
            let (artifacts, problem) = files.artifacts()
            let listed = Dictionary(
                (files.sums(files.sha256Sums, hexLength: 64)?.sums ?? []).map { ($0.name, $0.hex) },
                uniquingKeysWith: { a, _ in a })
            return (files, artifacts, problem, releaseFacts(files: files, artifacts: artifacts, sha256: listed))
        }
        let results = try await hashAndOpen(files: files, artifacts: artifacts, facts: facts)
        let (listedSHA256, offline, verifiedImages) = await Blocking.run {
            check(files: files, artifacts: artifacts, artifactsProblem: problem, results: results)
        }
        var checks = offline
        checks += await checkReleaseImages(artifacts, verified: verifiedImages)
        if let workspace, let src = artifacts.first(where: { $0.kind == .src }),
            let file = try? files.tree.open(src.name)
        {
            // A release under the workspace must come from it; one elsewhere may come from another repository.
            let origin = directory.hasPrefix(workspace + "/")
            checks += await SourceVerifier(workspace: workspace, runner: runner, isOrigin: origin)
                .verify(file.reopenPath, name: src.name)
        }
        let key = key
        checks += await Blocking.run { SupplyChainVerifier(files: files, sums: listedSHA256, key: key).verify() }
        return VerifyReport(directory: directory, checks: checks)
    }

    /// The checks that need no workspace, from the digests and archive checks `hashAndOpen` found: the
    /// sums, the planned files, artifacts.json, the archives; with the sha256 sums listed and the images
    /// the archives' checks already verified.
    private func check(
        files: ReleaseFiles, artifacts: [ReleaseArtifact], artifactsProblem: String?, results: [Outcome]
    ) -> (sha256: [String: String], checks: [VerifyCheck], verifiedImages: Set<String>) {
        var actual: [String: (sha256: String, sha512: String)] = [:]
        var tarballChecks: [VerifyCheck] = []
        var verifiedImages: Set<String> = []
        for result in results {
            switch result {
            case .digests(let name, let sha256, let sha512): actual[name] = (sha256, sha512)
            case .checks(let found, let images):
                tarballChecks += found
                verifiedImages.formUnion(images)
            }
        }
        let (sha256, sumChecks) = checkSums(files, actual: actual)
        var checks = sumChecks
        if let layout { checks += checkPlannedFiles(files, layout: layout, actual: actual) }
        if let artifactsProblem {
            checks.append(.fail("artifacts", "artifacts.json", artifactsProblem))
        } else {
            checks += checkArtifacts(artifacts, files: files, sha256: sha256)
        }
        checks += tarballChecks
        return (sha256, checks, verifiedImages)
    }

    /// Hashes every summed file and opens every archive, on one pool: the work is independent.
    /// Kubernetes' tarballs get their conventions checked (binaries, images, nesting); with a plan, every
    /// archive's entries are compared with it.
    private func hashAndOpen(files: ReleaseFiles, artifacts: [ReleaseArtifact], facts: ReleaseFacts)
        async throws(VerifyError) -> [Outcome]
    {
        let byName = Dictionary(artifacts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let planned = Dictionary(
            (layout?.archives ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let kubernetes = layout?.isKubernetes ?? true
        let archives = files.tarballs.map { name in (name, byName[name], planned[name]) }
        let summed = files.summed
        let work = Array(0..<(summed.count + archives.count))
        do {
            return try await concurrentMap(work, limit: jobs) { index -> Outcome in
                // Opening, hashing and inflating block: each item on a thread of its own.
                await Blocking.run { () -> Outcome in
                    if index < summed.count {
                        do {
                            // The inode the listing saw, opened beneath the directory: a name swapped meanwhile is not read.
                            let file = try files.tree.open(summed[index])
                            let checksums = try Checksums.file(file.reopenPath)
                            return .digests(summed[index], checksums.sha256.hex, checksums.sha512.hex)
                        } catch {
                            return .checks([.fail("files", summed[index], "cannot be read: \(error)")], [])
                        }
                    }
                    let (name, artifact, archive) = archives[index - summed.count]
                    guard let file = try? files.tree.open(name) else {
                        return .checks([.fail("layout", name, files.absence(name))], [])
                    }
                    let path = file.reopenPath  // the closure holds the descriptor open while it reads
                    var checks: [VerifyCheck] = []
                    var images: Set<String> = []
                    if kubernetes, let artifact {
                        (checks, images) = TarballVerifier(facts: facts).verify(path, artifact: artifact)
                    }
                    // A binary asset is its bytes alone: the sums and its side files cover it.
                    if let archive, archive.format != .binary { checks += EntryVerifier(archive: archive).verify(path) }
                    return .checks(checks, images)
                }
            }
        } catch {
            throw .unreadable(path: directory, reason: "verification stopped: \(error)")
        }
    }

    /// SHA256SUMS, SHA512SUMS and the `.sha256`/`.sha512` files against the bytes; nothing missing or extra.
    private func checkSums(
        _ files: ReleaseFiles, actual: [String: (sha256: String, sha512: String)]
    ) -> (sha256: [String: String], checks: [VerifyCheck]) {
        var checks: [VerifyCheck] = []
        var listed256: [String: String] = [:]
        let sums = [(files.sha256Sums, 64, "sha256")] + (files.sha512Sums.map { [($0, 128, "sha512")] } ?? [])
        for (file, length, algorithm) in sums {
            guard let parsed = files.sums(file, hexLength: length) else {
                checks.append(.fail(algorithm, file, files.absence(file)))
                continue
            }
            for problem in parsed.problems { checks.append(.fail(algorithm, file, problem)) }
            var listed: Set<String> = []
            var good = 0
            for sum in parsed.sums {
                listed.insert(sum.name)
                if algorithm == "sha256" { listed256[sum.name] = sum.hex }
                guard let digests = actual[sum.name] else {
                    let reason =
                        files.names.contains(sum.name)
                        ? "is release bookkeeping, yet listed in \(file); the sums list the archives and the SBOM"
                        : files.refused[sum.name].map { "listed in \(file), but \($0); allowed: a regular file" }
                            ?? "listed in \(file) but missing from the directory"
                    checks.append(.fail(algorithm, sum.name, reason))
                    continue
                }
                let have = algorithm == "sha256" ? digests.sha256 : digests.sha512
                if have == sum.hex {
                    good += 1
                } else {
                    checks.append(
                        .fail(
                            algorithm, sum.name, "\(file) says \(sum.hex.prefix(16))…, the file has \(have.prefix(16))…"
                        ))
                }
            }
            for extra in files.summed where !listed.contains(extra) {
                checks.append(.fail("files", extra, "is in the directory but not in \(file)"))
            }
            if good == parsed.sums.count, parsed.problems.isEmpty {
                checks.append(.ok(algorithm, file, "all \(good) files match"))
            }
        }
        // Without a plan, Kubernetes' `<file>.sha256` / `.sha512`: each matches its file; every tarball has both.
        // With one, `checkPlannedFiles` checks the side files it names.
        guard files.layout == nil else { return (listed256, checks) }
        for name in files.names where name.hasSuffix(".sha256") || name.hasSuffix(".sha512") {
            let is256 = name.hasSuffix(".sha256")
            let target = String(name.dropLast(7))
            let text =
                (files.contents(name).map { String(decoding: $0, as: UTF8.self) } ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard let digests = actual[target] else {
                let what = files.refused[target].map { "which \($0)" } ?? "which is not in the directory"
                checks.append(.fail("files", name, "names \(target), \(what)"))
                continue
            }
            let have = is256 ? digests.sha256 : digests.sha512
            if text.split(separator: " ").first.map(String.init) != have {
                checks.append(
                    .fail(
                        is256 ? "sha256" : "sha512", target,
                        "\(name) says \(text.prefix(16))…, the file has \(have.prefix(16))…"))
            }
        }
        for tarball in files.tarballs {
            for suffix in [".sha256", ".sha512"] where !files.names.contains(tarball + suffix) {
                checks.append(.fail("files", tarball + suffix, files.absence(tarball + suffix)))
            }
        }
        // Never opened: a symlink could lead out of the release, a FIFO would block.
        for (name, reason) in files.refused.sorted(by: { $0.key < $1.key }) {
            checks.append(.fail("files", name, reason + "; allowed: regular files only"))
        }
        let single = files.names.filter { $0.hasSuffix(".sha256") || $0.hasSuffix(".sha512") }.count
        checks.append(
            .ok("files", files.directory, "\(files.summed.count) files, \(single) .sha256/.sha512 files checked"))
        return (listed256, checks)
    }

    /// With a plan: the directory holds exactly its archives and side files (a signature only when
    /// signed), and every per-archive digest file holds the digest, or the `<digest>  <name>` line, of its archive.
    private func checkPlannedFiles(
        _ files: ReleaseFiles, layout: ReleaseLayout, actual: [String: (sha256: String, sha512: String)]
    ) -> [VerifyCheck] {
        var checks: [VerifyCheck] = []
        let planned = Set(layout.archives.map(\.name) + layout.sideFiles.map(\.name))
        for name in files.names where !planned.contains(name) {
            checks.append(
                .fail("files", name, "is in the directory but not in the plan of the workspace's release config"))
        }
        // Never opened: a symlink could lead out of the release, a FIFO would block.
        for (name, reason) in files.refused.sorted(by: { $0.key < $1.key }) {
            checks.append(.fail("files", name, reason + "; allowed: regular files only"))
        }
        for name in layout.archives.map(\.name) + layout.sideFiles.filter({ !$0.signedOnly }).map(\.name)
        where !files.names.contains(name) && files.refused[name] == nil {
            checks.append(.fail("files", name, "missing: the plan writes it"))
        }
        var digests = 0
        for side in layout.sideFiles where side.kind == .digest || side.kind == .digestLine {
            guard let of = side.of, let have = actual[of], files.names.contains(side.name) else { continue }
            let hex = side.algorithm == "sha512" ? have.sha512 : have.sha256
            let want = side.kind == .digest ? hex + "\n" : "\(hex)  \(of)\n"
            let text = files.contents(side.name).map { String(decoding: $0, as: UTF8.self) }
            if text != want {
                checks.append(
                    .fail(
                        side.algorithm ?? "sha256", side.name,
                        "says \(Escaping.shown(String((text ?? "").prefix(80)))), \(of) has \(hex.prefix(16))…"))
            } else {
                digests += 1
            }
        }
        if checks.isEmpty {
            checks.append(
                .ok(
                    "files", files.directory,
                    "exactly the \(planned.count) planned files (signature when signed), \(digests) digest files match")
            )
        }
        return checks
    }

    private func checkArtifacts(_ artifacts: [ReleaseArtifact], files: ReleaseFiles, sha256: [String: String])
        -> [VerifyCheck]
    {
        var checks: [VerifyCheck] = []
        let listed = Set(artifacts.filter { $0.path.hasPrefix("release-tars/") }.map(\.name))
        for artifact in artifacts where artifact.path.hasPrefix("release-tars/") {
            guard files.names.contains(artifact.name) else {
                let reason = files.refused[artifact.name].map { "listed in artifacts.json, but \($0)" }
                checks.append(
                    .fail(
                        "artifacts", artifact.name, reason ?? "listed in artifacts.json but missing from the directory")
                )
                continue
            }
            if let digest = sha256[artifact.name], digest != artifact.sha256 {
                checks.append(
                    .fail(
                        "artifacts", artifact.name,
                        "artifacts.json says sha256 \(artifact.sha256.prefix(16))…, SHA256SUMS \(digest.prefix(16))…"))
            }
            let size = (try? files.tree.open(artifact.name).size) ?? -1
            if size != artifact.size {
                checks.append(
                    .fail(
                        "artifacts", artifact.name, "artifacts.json says \(artifact.size) bytes, the file has \(size)"))
            }
        }
        for tarball in files.tarballs where !listed.contains(tarball) {
            checks.append(.fail("artifacts", tarball, "is not listed in artifacts.json"))
        }
        if checks.isEmpty {
            checks.append(.ok("artifacts", "artifacts.json", "\(artifacts.count) artifacts, sizes and digests match"))
        }
        return checks
    }

    /// `_output/release-images/<arch>/<bin>.tar` beside the release directory, when they are there, all
    /// at once (each streamed: bounded memory whatever the image's size).
    /// Images identical (by sha256) to a copy already verified inside a server tarball are not opened again.
    private func checkReleaseImages(_ artifacts: [ReleaseArtifact], verified: Set<String>) async -> [VerifyCheck] {
        let images = artifacts.filter { $0.kind == .image }
        let output = Paths.parent(of: directory)
        let checks = try? await concurrentMap(images, limit: jobs) { artifact in
            await Blocking.run { Self.checkReleaseImage(artifact, output: output, verified: verified) }
        }
        // The body cannot fail; were the map to, every image fails rather than passing unchecked.
        return checks?.flatMap { $0 } ?? images.map { .fail("image", $0.path, "was not checked") }
    }

    private static func checkReleaseImage(_ artifact: ReleaseArtifact, output: String, verified: Set<String>)
        -> [VerifyCheck]
    {
        let path = output + "/" + artifact.path
        // artifacts.json names it: opened beneath _output only, through no symlink, never blocking.
        guard
            FileManager.default.fileExists(atPath: path)
                || Beneath(output).describe(artifact.path) != "does not exist"
        else { return [] }
        let file: OpenFile
        do {
            file = try Beneath(output).open(artifact.path)
        } catch {
            return [.fail("image", artifact.path, error.reason + "; allowed: a regular file beneath _output")]
        }
        var checks: [VerifyCheck] = []
        let digest = try? Digest.file(file.reopenPath, .sha256).hex
        if digest != artifact.sha256 {
            checks.append(
                .fail(
                    "image", artifact.path,
                    "sha256 \(digest?.prefix(16) ?? "unreadable")…, artifacts.json says \(artifact.sha256.prefix(16))…"
                ))
        } else if let digest, verified.contains(digest) {
            return [
                .ok(
                    "image", artifact.path,
                    "identical to the copy verified in its server tarball (sha256 \(digest.prefix(16))…)")
            ]
        }
        let binary = String(Paths.name(of: artifact.path).dropLast(4))
        let tagFile = Paths.parent(of: artifact.path) + "/\(binary).docker_tag"
        let tag = (try? Beneath(output).read(tagFile, limit: 4096)).map { String(decoding: $0, as: UTF8.self) }?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if file.size > ImageVerifier.maxBytes {
            return checks + [.fail("image", artifact.path, ImageVerifier.oversized(file.size))]
        }
        guard let scanned = ImageScan.file(file.reopenPath, binary: binary) else {
            return checks + [.fail("image", artifact.path, "cannot be read")]
        }
        return checks
            + ImageVerifier().verify(
                scanned, subject: artifact.path,
                expecting: ImageExpectation(
                    binary: binary, arch: artifact.arch ?? "", reference: artifact.image, tag: tag))
    }

    private func releaseFacts(files: ReleaseFiles, artifacts: [ReleaseArtifact], sha256: [String: String])
        -> ReleaseFacts
    {
        let project = files.project ?? "kubernetes"
        let src = artifacts.first { $0.kind == .src }?.name ?? "\(project)-src.tar.gz"
        let version = (try? files.tree.open(src)).flatMap { SourceVerifier.recorded(in: $0.reopenPath)?.version }
        // The binaries of each archive, as the plan lists them; without a plan, each is checked for having some.
        let binaries = layout.map { layout in
            Dictionary(layout.archives.map { ($0.name, $0.binaries) }, uniquingKeysWith: { first, _ in first })
        }
        var images: [String: [String: String]] = [:]
        for artifact in artifacts where artifact.kind == .image {
            guard let arch = artifact.arch else { continue }
            images[arch, default: [:]][String(artifact.name.dropLast(4))] = artifact.image ?? ""
        }
        // The archives others carry, from the plan's entries (Kubernetes' src and manifests without one).
        let nestedNames =
            layout?.archives.flatMap(\.nestedArchives) ?? ["\(project)-src.tar.gz", "\(project)-manifests.tar.gz"]
        var nested: [String: String] = [:]
        for name in nestedNames { nested[name] = sha256[name] }
        let stampedVersion: String? =
            switch stamped {
            case .version: version
            case .bareVersion: version.map { $0.hasPrefix("v") ? String($0.dropFirst()) : $0 }
            case .none: nil
            }
        return ReleaseFacts(
            project: project, version: version, stampedVersion: stampedVersion, binariesByArchive: binaries,
            imagesByArch: images, nested: nested)
    }

}

/// What one unit of verify's parallel work found.
private enum Outcome: Sendable {
    case digests(String, String, String)
    /// Checks of a tarball, and the sha256 of the image tarballs inside it that passed every check.
    case checks([VerifyCheck], Set<String>)
}

/// A private temporary directory for extracted image tarballs and blobs.
enum Scratch {
    static func make(_ label: String = "kbuild-verify") throws -> String {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).standardizedFileURL.path
        var template = Array((base + "/\(label).XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw FileOutputError(path: NSTemporaryDirectory(), operation: "mkdtemp", errno: errno)
        }
        return String(cString: made)
    }
}

/// The form of the version a release stamps into its binaries (`version.variables`).
public enum StampedVersion: Sendable {
    /// `v1.2.3` (Kubernetes' gitVersion, containerd's Version).
    case version
    /// Only `1.2.3` (GoReleaser's `main.version`).
    case bareVersion
    /// No version variable: the binaries are not searched for one.
    case none
}
