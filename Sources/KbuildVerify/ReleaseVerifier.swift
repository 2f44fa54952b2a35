import Foundation
import KbuildConfig
import KbuildCore
import KbuildDigest

/// `kbuild verify`: every offline check of a release directory, each one line of the report.
public struct ReleaseVerifier: Sendable {
    /// The release directory (`_output/release-tars`).
    public var directory: String
    /// The workspace: its release config names the binaries of each kind, its git repository the sources.
    public var workspace: String?
    /// Verifies the signatures with this key.
    public var key: Ed25519PublicKey?
    /// How many tarballs are checked at once.
    public var jobs: Int
    public var runner: any ProcessRunner

    public init(
        directory: String, workspace: String?, key: Ed25519PublicKey? = nil,
        jobs: Int = ProcessInfo.processInfo.activeProcessorCount, runner: any ProcessRunner = SubprocessRunner()
    ) {
        self.directory = directory
        self.workspace = workspace
        self.key = key
        self.jobs = max(1, jobs)
        self.runner = runner
    }

    /// Runs every check; throws only when the directory itself cannot be read.
    public func verify() async throws(VerifyError) -> VerifyReport {
        let files = try ReleaseFiles(directory: directory)
        var checks: [VerifyCheck] = []
        let (artifacts, problem) = files.artifacts()
        let listed = Dictionary(
            (files.sums("SHA256SUMS", hexLength: 64)?.sums ?? []).map { ($0.name, $0.hex) },
            uniquingKeysWith: { a, _ in a })
        let facts = releaseFacts(files: files, artifacts: artifacts, sha256: listed)

        // Hashing every file and opening every tarball are independent: one pool does both.
        let byName = Dictionary(artifacts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let tarballs = files.tarballs.compactMap { name in byName[name].map { (files.path(name), $0) } }
        let summed = files.summed.map { ($0, files.path($0)) }
        let work = Array(0..<(summed.count + tarballs.count))
        let results: [Outcome] =
            (try? await concurrentMap(work, limit: jobs) { index -> Outcome in
                if index < summed.count {
                    do {
                        let checksums = try Checksums.file(summed[index].1)
                        return .digests(summed[index].0, checksums.sha256.hex, checksums.sha512.hex)
                    } catch {
                        return .checks([.fail("files", summed[index].0, "cannot be read: \(error)")], [])
                    }
                }
                let (path, artifact) = tarballs[index - summed.count]
                let verified = TarballVerifier(facts: facts).verify(path, artifact: artifact)
                return .checks(verified.checks, verified.images)
            }) ?? []
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
        checks += sumChecks
        if let problem {
            checks.append(.fail("artifacts", "artifacts.json", problem))
        } else {
            checks += checkArtifacts(artifacts, files: files, sha256: sha256)
        }
        checks += tarballChecks
        checks += checkReleaseImages(artifacts, verified: verifiedImages)

        if let workspace, let src = artifacts.first(where: { $0.kind == "src" }), files.names.contains(src.name) {
            // A release under the workspace must come from it; one elsewhere may come from another repository.
            let origin = directory.hasPrefix(workspace + "/")
            checks += await SourceVerifier(workspace: workspace, runner: runner, isOrigin: origin)
                .verify(files.path(src.name), name: src.name)
        }
        checks += SupplyChainVerifier(files: files, sums: sha256, key: key).verify()
        return VerifyReport(directory: directory, checks: checks)
    }

    /// SHA256SUMS, SHA512SUMS and the `.sha256`/`.sha512` files against the bytes; nothing missing or extra.
    private func checkSums(
        _ files: ReleaseFiles, actual: [String: (sha256: String, sha512: String)]
    ) -> (sha256: [String: String], checks: [VerifyCheck]) {
        var checks: [VerifyCheck] = []
        var listed256: [String: String] = [:]
        for (file, length, algorithm) in [("SHA256SUMS", 64, "sha256"), ("SHA512SUMS", 128, "sha512")] {
            guard let parsed = files.sums(file, hexLength: length) else {
                checks.append(.fail(algorithm, file, "missing"))
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
                        ? "is release bookkeeping, yet listed in \(file); the sums list the tarballs and the SBOM"
                        : "listed in \(file) but missing from the directory"
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
        // `<file>.sha256` / `.sha512`: each matches its file; every tarball has both.
        for name in files.names where name.hasSuffix(".sha256") || name.hasSuffix(".sha512") {
            let is256 = name.hasSuffix(".sha256")
            let target = String(name.dropLast(7))
            let text =
                (FileManager.default.contents(atPath: files.path(name)).map { String(decoding: $0, as: UTF8.self) }
                ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard let digests = actual[target] else {
                checks.append(.fail("files", name, "names \(target), which is not in the directory"))
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
                checks.append(.fail("files", tarball + suffix, "missing"))
            }
        }
        let single = files.names.filter { $0.hasSuffix(".sha256") || $0.hasSuffix(".sha512") }.count
        checks.append(
            .ok("files", files.directory, "\(files.summed.count) files, \(single) .sha256/.sha512 files checked"))
        return (listed256, checks)
    }

    private func checkArtifacts(_ artifacts: [ReleaseArtifact], files: ReleaseFiles, sha256: [String: String])
        -> [VerifyCheck]
    {
        var checks: [VerifyCheck] = []
        let listed = Set(artifacts.filter { $0.path.hasPrefix("release-tars/") }.map(\.name))
        for artifact in artifacts where artifact.path.hasPrefix("release-tars/") {
            guard files.names.contains(artifact.name) else {
                checks.append(
                    .fail("artifacts", artifact.name, "listed in artifacts.json but missing from the directory"))
                continue
            }
            if let digest = sha256[artifact.name], digest != artifact.sha256 {
                checks.append(
                    .fail(
                        "artifacts", artifact.name,
                        "artifacts.json says sha256 \(artifact.sha256.prefix(16))…, SHA256SUMS \(digest.prefix(16))…"))
            }
            let size =
                (try? FileManager.default.attributesOfItem(atPath: files.path(artifact.name))[.size] as? Int64) ?? -1
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

    /// `_output/release-images/<arch>/<bin>.tar` beside the release directory, when they are there.
    /// Images identical (by sha256) to a copy already verified inside a server tarball are not opened again.
    private func checkReleaseImages(_ artifacts: [ReleaseArtifact], verified: Set<String>) -> [VerifyCheck] {
        let output = Paths.parent(of: directory)
        var checks: [VerifyCheck] = []
        for artifact in artifacts where artifact.kind == "image" {
            let path = output + "/" + artifact.path
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let digest = try? Digest.file(path, .sha256).hex
            if digest != artifact.sha256 {
                checks.append(
                    .fail(
                        "image", artifact.path,
                        "sha256 \(digest?.prefix(16) ?? "unreadable")…, artifacts.json says \(artifact.sha256.prefix(16))…"
                    ))
            } else if let digest, verified.contains(digest) {
                checks.append(
                    .ok(
                        "image", artifact.path,
                        "identical to the copy verified in its server tarball (sha256 \(digest.prefix(16))…)"))
                continue
            }
            let binary = String(Paths.name(of: artifact.path).dropLast(4))
            let tag = (try? String(contentsOfFile: Paths.parent(of: path) + "/\(binary).docker_tag", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            var info = stat()
            if stat(path, &info) == 0, Int64(info.st_size) > ImageVerifier.maxBytes {
                checks.append(.fail("image", artifact.path, ImageVerifier.oversized(Int64(info.st_size))))
                continue
            }
            guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
                checks.append(.fail("image", artifact.path, "cannot be read"))
                continue
            }
            checks += ImageVerifier().verify(
                bytes, subject: artifact.path,
                expecting: ImageExpectation(
                    binary: binary, arch: artifact.arch ?? "", reference: artifact.image, tag: tag))
        }
        return checks
    }

    private func releaseFacts(files: ReleaseFiles, artifacts: [ReleaseArtifact], sha256: [String: String])
        -> ReleaseFacts
    {
        let project = files.project
        var version: String?
        if files.names.contains("\(project)-src.tar.gz") {
            version = SourceVerifier.recorded(in: files.path("\(project)-src.tar.gz"))?.version
        }
        var byKind: [String: [String]]?
        if let workspace, let config = try? ConfigLoader.load(workspace: workspace), config.project == project {
            var kinds: [String: [String]] = [:]
            for kind in ReleaseConfig.Kind.allCases {
                kinds[kind.rawValue] = config.binaries(for: kind).map(\.name)
            }
            // Kubernetes' server tarballs carry the client binaries too.
            kinds["server", default: []] += config.binaries(for: .client).filter { !$0.kinds.contains(.server) }.map(
                \.name)
            byKind = kinds
        }
        var images: [String: [String: String]] = [:]
        for artifact in artifacts where artifact.kind == "image" {
            guard let arch = artifact.arch else { continue }
            images[arch, default: [:]][String(artifact.name.dropLast(4))] = artifact.image ?? ""
        }
        var nested: [String: String] = [:]
        for name in ["\(project)-src.tar.gz", "\(project)-manifests.tar.gz"] { nested[name] = sha256[name] }
        return ReleaseFacts(
            project: project, version: version, binariesByKind: byKind, imagesByArch: images, nested: nested)
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
