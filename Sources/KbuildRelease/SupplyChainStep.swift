import Foundation
import KbuildCore
import KbuildDigest
import KbuildProof

/// What the supply-chain documents need beyond the plan.
public struct ProofOptions: Sendable {
    /// Signs the provenance (DSSE) and SHA256SUMS (`SHA256SUMS.sig`) when set.
    public var signingKey: Ed25519PrivateKey?
    /// The `KUBE_*` variables set for this release, named in the provenance.
    public var environment: [String: String]
    /// The release config file (absolute); the provenance names it workspace-relative with its sha256.
    public var configFile: String?
    /// The kbuild version, in the SBOM's creators and the provenance's builder.
    public var toolVersion: String

    public init(
        signingKey: Ed25519PrivateKey? = nil, environment: [String: String] = [:], configFile: String? = nil,
        toolVersion: String = "dev"
    ) {
        self.signingKey = signingKey
        self.environment = environment.filter { $0.key.hasPrefix("KUBE_") }
        self.configFile = configFile
        self.toolVersion = toolVersion
    }
}

extension ReleasePipeline {
    /// Files the supply-chain step adds to release-tars.
    var supplyChainOutputs: [String] {
        let sbom = SBOM.fileName(project: plan.project)
        var names = [sbom, sbom + ".sha256", sbom + ".sha512", Provenance.fileName(project: plan.project)]
        if options.proof.signingKey != nil { names.append("SHA256SUMS.sig") }
        return names
    }

    /// What the documents depend on that the package key does not already hold.
    func supplyChainFingerprint(source: SourceReference?) -> String {
        let config = options.proof.configFile.flatMap { try? Digest.file($0, [.sha256])[.sha256]?.hex } ?? ""
        let environment = options.proof.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return ([
            "proof", options.proof.signingKey?.publicKey.keyID ?? "unsigned", options.proof.toolVersion, config,
            source.map { "\($0.remote ?? "") \($0.ref) \($0.commit) \($0.treeState)" } ?? "", toolchain?.version ?? "",
        ] + environment).joined(separator: "\n")
    }

    /// The git facts the provenance names: the `origin` remote (credentials and local paths left out), the ref, the commit.
    func sourceReference() async -> SourceReference? {
        let version = plan.version
        guard !version.commit.isEmpty else { return nil }
        func git(_ arguments: String...) async -> String? {
            guard let result = try? await runner.run(Command("git", ["-C", plan.workspace] + arguments)),
                result.succeeded
            else { return nil }
            let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
        var ref = version.commit
        if let tag = await git("describe", "--exact-match", "--tags", "--match=v*", "HEAD") {
            ref = "refs/tags/" + tag
        } else if let branch = await git("symbolic-ref", "-q", "HEAD") {
            ref = branch
        }
        let remote = await git("remote", "get-url", "origin").flatMap(Self.publicRemote)
        return SourceReference(remote: remote, ref: ref, commit: version.commit, treeState: version.treeState)
    }

    /// A remote URL fit to publish: userinfo dropped, scp-like `host:path` as `ssh://host/path`, local paths nil.
    static func publicRemote(_ url: String) -> String? {
        if let scheme = url.range(of: "://") {
            let name = url[..<scheme.lowerBound].lowercased()
            guard name != "file" else { return nil }
            var rest = url[scheme.upperBound...]
            let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<hostEnd].lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
            return "\(name)://\(rest)"
        }
        guard !url.hasPrefix("/"), !url.hasPrefix("."), let colon = url.firstIndex(of: ":") else { return nil }
        var host = url[..<colon]
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        return "ssh://\(host)/\(url[url.index(after: colon)...])"
    }

    /// SBOM → checksums (adding the SBOM) → provenance → signatures, into `directory`, the release-tars being built.
    /// Today's wiring after `writeChecksums`; a step-per-file pipeline calls `writeSBOM` before the checksums
    /// (adding the lines it returns) and `writeProvenance` after them.
    func writeSupplyChain(
        artifacts: [Artifact], source: SourceReference?, into directory: String, progress: @escaping Progress
    ) async throws {
        let start = Date()
        progress(.stepStarted("proof"))
        let sbom = try await writeSBOM(artifacts: artifacts, into: directory)
        var sha256sums = Data()
        for (algorithm, line) in sbom.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let file = "\(directory)/\(algorithm.rawValue.uppercased())SUMS"
            let lines = try ChecksumLine.parse(try String(contentsOfFile: file, encoding: .utf8)).filter { $0.name != line.name }
            let rendered = Data(ChecksumLine.render(lines + [line]).utf8)
            try FileOutput.writeAtomically(rendered, to: file)
            if algorithm == .sha256 { sha256sums = rendered }
        }
        try writeProvenance(sha256sums: sha256sums, source: source, into: directory)
        let key = options.proof.signingKey
        progress(.stepFinished(
            "proof", seconds: Date().timeIntervalSince(start),
            summary: "\(SBOM.fileName(project: plan.project)), \(Provenance.fileName(project: plan.project))"
                + (key.map { ", signed by key \($0.publicKey.keyID.prefix(16))" } ?? "")))
    }

    /// Writes `<project>.spdx.json` and its `.sha256`/`.sha512` into `directory`; returns its SHA256SUMS and
    /// SHA512SUMS lines. `artifacts`: the tarballs and image tarballs, as `writeChecksums` lists them.
    func writeSBOM(artifacts: [Artifact], into directory: String) async throws -> [DigestAlgorithm: ChecksumLine] {
        let binaries = try await concurrentMap(plan.builds, limit: options.jobs) { target in
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: target.output), options: .alwaysMapped) else {
                throw ReleaseError.missingBuildOutput(path: target.output)
            }
            return SBOMBinary(
                name: target.binary, platform: target.platform, sha256: Digest.of(data, .sha256).hex,
                buildInfo: GoBuildInfo.read(binary: data))
        }
        let sbom = SBOM.document(
            SBOMInput(
                project: plan.project, version: plan.version.version, sourceDate: plan.sourceDate,
                toolVersion: options.proof.toolVersion, license: projectLicense(),
                moduleLicenses: vendoredLicenses(binaries), artifacts: sbomArtifacts(artifacts), binaries: binaries))
        let name = SBOM.fileName(project: plan.project)
        try FileOutput.writeAtomically(sbom, to: "\(directory)/\(name)")
        var lines: [DigestAlgorithm: ChecksumLine] = [:]
        for algorithm in [DigestAlgorithm.sha256, .sha512] {
            let hex = Digest.of(sbom, algorithm).hex
            try FileOutput.writeAtomically(hex + "\n", to: "\(directory)/\(name).\(algorithm.rawValue)")
            lines[algorithm] = ChecksumLine(digest: hex, name: name)
        }
        return lines
    }

    /// Writes `<project>.intoto.jsonl` over `sha256sums` (the final SHA256SUMS bytes) into `directory`: the
    /// statement, or its DSSE envelope and `SHA256SUMS.sig` when a signing key is set.
    func writeProvenance(sha256sums: Data, source: SourceReference?, into directory: String) throws {
        let proof = options.proof
        // Without a located toolchain (--skip-build), the binaries say which Go built them.
        let goVersion = toolchain?.version ?? plan.builds.lazy.compactMap { target in
            (try? Data(contentsOf: URL(fileURLWithPath: target.output), options: .alwaysMapped))
                .flatMap(GoBuildInfo.read(binary:)).map { String($0.goVersion.dropFirst(2)) }
        }.first
        let provenance = try Provenance.file(
            ProvenanceInput(
                project: plan.project, version: plan.version.version, sourceDate: plan.sourceDate,
                subjects: try ChecksumLine.parse(String(decoding: sha256sums, as: UTF8.self)),
                configPath: proof.configFile.map(workspaceName) ?? "", configSHA256: try proof.configFile.map(sha256) ?? "",
                platforms: Dictionary(
                    uniqueKeysWithValues: plan.config.platformsByKind.filter { !$0.value.isEmpty }
                        .map { ($0.key.rawValue, $0.value.map(\.description)) }),
                environment: proof.environment, source: source, goVersion: goVersion,
                baseImages: try plan.config.images.base.map { [ProvenanceMaterial(name: workspaceName($0), sha256: try sha256($0))] } ?? [],
                toolVersion: proof.toolVersion,
                internalParameters: ["compressionLevel": String(options.compressionLevel)]),
            signedWith: proof.signingKey)
        try FileOutput.writeAtomically(provenance, to: "\(directory)/\(Provenance.fileName(project: plan.project))")
        if let key = proof.signingKey {
            // Raw 64-byte Ed25519 signature, what `openssl pkeyutl -sign -rawin` writes.
            try FileOutput.writeAtomically(Data(try key.sign(sha256sums)), to: directory + "/SHA256SUMS.sig")
        }
    }

    /// The artifacts with what each packs: binaries of its platform, images, the nested src/manifests tarballs.
    private func sbomArtifacts(_ artifacts: [Artifact]) -> [SBOMArtifact] {
        let project = plan.project
        return artifacts.map { artifact in
            var item = SBOMArtifact(
                name: artifact.name, path: artifact.path, kind: artifact.kind,
                platform: artifact.os.flatMap { os in artifact.arch.map { Platform(os: os, arch: $0) } },
                sha256: artifact.sha256, image: artifact.image)
            if artifact.kind == "image", let platform = item.platform {
                let binary = artifact.name.hasSuffix(".tar") ? String(artifact.name.dropLast(4)) : artifact.name
                item.containsBinaries = ["\(platform.os)/\(platform.arch)/\(binary)"]
            } else if let tarball = plan.tarballs.first(where: { $0.name == artifact.name }) {
                if let platform = tarball.platform {
                    item.containsBinaries = tarball.binaries.map { "\(platform.os)/\(platform.arch)/\($0)" }
                    item.containsArtifacts = tarball.images.map { "release-images/\(platform.arch)/\($0).tar" }
                }
                if tarball.kind == .server { item.containsArtifacts.append("release-tars/\(project)-src.tar.gz") }
                if tarball.kind == .full { item.containsArtifacts.append("release-tars/\(project)-manifests.tar.gz") }
            }
            return item
        }
    }

    /// The SPDX id of the workspace's LICENSE/LICENSES file, when it names one.
    private func projectLicense() -> String? {
        for name in ["LICENSES", "LICENSE", "LICENSE.txt", "COPYING"] {
            let path = plan.workspace + "/" + name
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return LicenseText.identify(text) }
        }
        return nil
    }

    /// Licenses of vendored modules (`vendor/<module>/LICENSE`); modules outside vendor/ stay NOASSERTION.
    private func vendoredLicenses(_ binaries: [SBOMBinary]) -> [String: String] {
        var licenses: [String: String] = [:]
        for module in Set(binaries.flatMap { $0.buildInfo?.dependencies ?? [] }.map(\.path)) {
            for name in ["LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING"] {
                let path = "\(plan.workspace)/vendor/\(module)/\(name)"
                if let text = try? String(contentsOfFile: path, encoding: .utf8), let id = LicenseText.identify(text) {
                    licenses[module] = id
                    break
                }
            }
        }
        return licenses
    }

    /// Workspace-relative, or just the file name for a file elsewhere: documents never name machine paths.
    private func workspaceName(_ path: String) -> String {
        path.hasPrefix(plan.workspace + "/") ? plan.relative(path) : Paths.name(of: path)
    }

    private func sha256(_ path: String) throws -> String {
        do {
            return try Digest.file(path, [.sha256])[.sha256]?.hex ?? ""
        } catch {
            throw ReleaseError.io(path: path, reason: "cannot read it to record its digest")
        }
    }
}
