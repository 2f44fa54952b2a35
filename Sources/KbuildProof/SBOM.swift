import Foundation
import KbuildArtifact
import KbuildCore
import KbuildDigest

/// One file of the release the SBOM describes: a tarball or an image tarball.
public struct SBOMArtifact: Sendable, Hashable {
    /// File name, e.g. `kubernetes-server-linux-amd64.tar.gz`.
    public var name: String
    /// Path relative to `_output`, e.g. `release-images/amd64/kube-proxy.tar` (unique where names are not).
    public var path: String
    public var kind: ArtifactKind
    public var platform: Platform?
    public var sha256: String
    /// The image reference (`registry/name:tag`) of an image tarball.
    public var image: String?
    /// `path`s of other artifacts packed inside this one (images and nested tarballs).
    public var containsArtifacts: [String]
    /// `SBOMBinary.key`s of the binaries packed inside this one.
    public var containsBinaries: [String]

    public init(
        name: String, path: String, kind: ArtifactKind, platform: Platform? = nil, sha256: String, image: String? = nil,
        containsArtifacts: [String] = [], containsBinaries: [String] = []
    ) {
        self.name = name
        self.path = path
        self.kind = kind
        self.platform = platform
        self.sha256 = sha256
        self.image = image
        self.containsArtifacts = containsArtifacts
        self.containsBinaries = containsBinaries
    }
}

/// One Go binary of the release, with what its build info says it is made of.
public struct SBOMBinary: Sendable, Hashable {
    public var name: String
    public var platform: Platform
    public var sha256: String
    /// nil when the binary carries no build info (then it depends on nothing the SBOM can name).
    public var buildInfo: GoBuildInfo?

    public init(name: String, platform: Platform, sha256: String, buildInfo: GoBuildInfo?) {
        self.name = name
        self.platform = platform
        self.sha256 = sha256
        self.buildInfo = buildInfo
    }

    /// `<os>/<arch>/<name>`, how artifacts refer to it.
    public var key: String { "\(platform.os)/\(platform.arch)/\(name)" }
}

/// Everything the SBOM says, as plain values.
public struct SBOMInput: Sendable {
    public var project: String
    public var version: String
    public var sourceDate: SourceDate
    /// The kbuild version, for `creators` (`Tool: kbuild-<version>`).
    public var toolVersion: String
    /// The SPDX license of the project's own packages (from its LICENSE file), nil: NOASSERTION.
    public var license: String?
    /// Licenses of dependency modules by module path, where a LICENSE file named one.
    public var moduleLicenses: [String: String]
    public var artifacts: [SBOMArtifact]
    public var binaries: [SBOMBinary]

    public init(
        project: String, version: String, sourceDate: SourceDate, toolVersion: String, license: String? = nil,
        moduleLicenses: [String: String] = [:], artifacts: [SBOMArtifact], binaries: [SBOMBinary]
    ) {
        self.project = project
        self.version = version
        self.sourceDate = sourceDate
        self.toolVersion = toolVersion
        self.license = license
        self.moduleLicenses = moduleLicenses
        self.artifacts = artifacts
        self.binaries = binaries
    }
}

/// The SPDX 2.3 JSON SBOM of a release (`<project>.spdx.json`): pure, byte-reproducible.
public enum SBOM {
    /// Where document namespaces live; `.invalid` (RFC 2606) because the URI only has to be unique, not resolvable.
    public static let namespaceBase = "https://kbuild.invalid/spdx/"

    /// `<project>.spdx.json`.
    public static func fileName(project: String) -> String { "\(project).spdx.json" }

    /// The document namespace: project, version and the sha256 of every artifact and binary digest, sorted.
    public static func namespace(_ input: SBOMInput) -> String {
        let lines =
            (input.artifacts.map { "\($0.sha256)  \($0.path)" } + input.binaries.map { "\($0.sha256)  \($0.key)" })
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let digest = Digest.of(Data(lines.joined(separator: "\n").utf8), .sha256).hex
        return namespaceBase + PackageURL.encode("\(input.project)-\(input.version)") + "-" + digest
    }

    /// The document's bytes: pretty JSON, sorted keys, a final newline.
    public static func document(_ input: SBOMInput) -> Data {
        var builder = SBOMBuilder(input: input)
        builder.addArtifacts()
        builder.addBinaries()
        builder.addModules()
        return builder.document()
    }

    static func basePackage(id: String, name: String, version: String, supplier: String) -> [String: JSONValue] {
        [
            "SPDXID": .string(id), "name": .string(name), "versionInfo": .string(version),
            "supplier": .string(supplier), "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION", "copyrightText": "NOASSERTION",
        ]
    }

    static func purlRef(_ purl: PackageURL) -> JSONValue {
        [
            [
                "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                "referenceLocator": .string(purl.description),
            ]
        ]
    }

    /// Image tarballs as `pkg:docker/<name>@<tag>?repository_url=<registry>`; the rest as `pkg:generic`.
    static func purl(of artifact: SBOMArtifact, version: String) -> PackageURL {
        let arch = artifact.platform?.arch
        if let image = artifact.image, let slash = image.lastIndex(of: "/"), let colon = image.lastIndex(of: ":"),
            colon > slash
        {
            return PackageURL(
                type: "docker", name: String(image[image.index(after: slash)..<colon]),
                version: String(image[image.index(after: colon)...]),
                qualifiers: ["repository_url": String(image[..<slash]), "arch": arch ?? ""])
        }
        return PackageURL(
            type: "generic", name: artifact.name, version: version,
            qualifiers: ["checksum": "sha256:\(artifact.sha256)"])
    }

    /// Who publishes a module, from its path: `github.com/owner`, `golang.org/x`, else the host.
    static func moduleSupplier(_ path: String) -> String {
        if path == "stdlib" { return "Organization: The Go Authors" }
        let parts = path.split(separator: "/")
        let publisher = parts.count >= 3 ? parts.prefix(2).joined(separator: "/") : String(parts.first ?? "")
        return "Organization: \(publisher)"
    }
}

/// Unique, valid SPDX identifiers (`SPDXRef-` + letters, digits, `.`, `-`), stable for the same input.
struct SPDXIdentifiers {
    private var used: Set<String> = []

    mutating func make(_ label: String) -> String {
        let cleaned = String(
            label.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "-" })
        var id = "SPDXRef-" + cleaned
        var suffix = 2
        while used.contains(id) {
            id = "SPDXRef-\(cleaned)-\(suffix)"
            suffix += 1
        }
        used.insert(id)
        return id
    }
}

/// Builds the SBOM's packages and relationships, one job per method, in the order the identifiers
/// are made (artifacts, binaries, then modules as binaries name them): the same input, the same bytes.
struct SBOMBuilder {
    let input: SBOMInput
    let artifacts: [SBOMArtifact]
    let binaries: [SBOMBinary]
    let supplier: String
    let declared: String
    var ids = SPDXIdentifiers()
    var packages: [JSONValue] = []
    var relationships: [(String, String, String)] = []
    var artifactIDs: [String: String] = [:]
    var binaryIDs: [String: String] = [:]
    var modules: [GoModule: String] = [:]

    init(input: SBOMInput) {
        self.input = input
        artifacts = input.artifacts.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        binaries = input.binaries.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        supplier = "Organization: \(input.project)"
        declared = input.license ?? "NOASSERTION"
        for artifact in artifacts { artifactIDs[artifact.path] = ids.make("Artifact-" + artifact.path) }
        for binary in binaries { binaryIDs[binary.key] = ids.make("GoBinary-" + binary.key) }
    }

    /// A package per artifact; the document describes those nothing contains; each contains what it packs.
    mutating func addArtifacts() {
        for artifact in artifacts {
            let id = artifactIDs[artifact.path] ?? ""
            var package = SBOM.basePackage(id: id, name: artifact.name, version: input.version, supplier: supplier)
            package["packageFileName"] = .string(artifact.path)
            package["checksums"] = [["algorithm": "SHA256", "checksumValue": .string(artifact.sha256)]]
            package["licenseDeclared"] = .string(declared)
            package["primaryPackagePurpose"] = .string(artifact.kind.spdxPurpose)
            package["externalRefs"] = SBOM.purlRef(SBOM.purl(of: artifact, version: input.version))
            if let image = artifact.image { package["description"] = .string("image \(image)") }
            packages.append(.object(package))
            let contained = artifacts.contains { $0.containsArtifacts.contains(artifact.path) }
            if !contained { relationships.append(("SPDXRef-DOCUMENT", "DESCRIBES", id)) }
            for inner in artifact.containsArtifacts.sorted() {
                if let innerID = artifactIDs[inner] { relationships.append((id, "CONTAINS", innerID)) }
            }
            for key in artifact.containsBinaries.sorted() {
                if let binaryID = binaryIDs[key] { relationships.append((id, "CONTAINS", binaryID)) }
            }
        }
    }

    /// A package per Go binary, depending on the modules its build info names.
    mutating func addBinaries() {
        for binary in binaries {
            let id = binaryIDs[binary.key] ?? ""
            let main = binary.buildInfo?.main?.path
            var package = SBOM.basePackage(id: id, name: binary.name, version: input.version, supplier: supplier)
            package["checksums"] = [["algorithm": "SHA256", "checksumValue": .string(binary.sha256)]]
            package["licenseDeclared"] = .string(declared)
            package["primaryPackagePurpose"] = "APPLICATION"
            let subpath = main.flatMap { main in
                binary.buildInfo.map { $0.path.hasPrefix(main + "/") ? String($0.path.dropFirst(main.count + 1)) : "" }
            }
            package["externalRefs"] = SBOM.purlRef(
                .golang(
                    module: main ?? binary.name, version: input.version, subpath: subpath,
                    qualifiers: ["goos": binary.platform.os, "goarch": binary.platform.arch]))
            packages.append(.object(package))
            if !artifacts.contains(where: { $0.containsBinaries.contains(binary.key) }) {
                relationships.append(("SPDXRef-DOCUMENT", "DESCRIBES", id))
            }
            guard let info = binary.buildInfo else { continue }
            // The main module and modules replaced by local directories are built from the release's own
            // tree: their version is the release version.
            var built = info.dependencies.map { module in
                module.version == GoModule.develVersion ? GoModule(path: module.path, version: input.version) : module
            }
            if let main = info.main { built.insert(GoModule(path: main.path, version: input.version), at: 0) }
            built.append(GoModule(path: "stdlib", version: info.goVersion))
            for module in built { relationships.append((id, "DEPENDS_ON", moduleID(module))) }
        }
    }

    private mutating func moduleID(_ module: GoModule) -> String {
        if let id = modules[module] { return id }
        let id = ids.make("GoModule-\(module.path)-\(module.version)")
        modules[module] = id
        return id
    }

    /// A package per module, sorted; the release's own modules carry its supplier and license.
    mutating func addModules() {
        let mainPaths = Set(
            binaries.flatMap { binary in
                [binary.buildInfo?.main?.path].compactMap { $0 }
                    + (binary.buildInfo?.dependencies ?? []).filter { $0.version == GoModule.develVersion }.map(\.path)
            })
        for module in modules.keys.sorted() {
            let own = mainPaths.contains(module.path)
            var package = SBOM.basePackage(
                id: modules[module] ?? "", name: module.path, version: module.version,
                supplier: own ? supplier : SBOM.moduleSupplier(module.path))
            package["licenseDeclared"] = .string(
                own
                    ? declared
                    : module.path == "stdlib" ? "BSD-3-Clause" : input.moduleLicenses[module.path] ?? "NOASSERTION")
            package["primaryPackagePurpose"] = "LIBRARY"
            package["externalRefs"] = SBOM.purlRef(.golang(module: module.path, version: module.version))
            packages.append(.object(package))
        }
    }

    /// The document's bytes: pretty JSON, sorted keys, a final newline.
    func document() -> Data {
        let document: JSONValue = [
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": .string("\(input.project)-\(input.version)"),
            "documentNamespace": .string(SBOM.namespace(input)),
            "creationInfo": [
                "created": .string(input.sourceDate.rfc3339),
                "creators": [.string(supplier), .string("Tool: kbuild-\(input.toolVersion)")],
            ],
            "packages": .array(packages),
            "relationships": .array(
                relationships.map {
                    [
                        "spdxElementId": .string($0.0), "relationshipType": .string($0.1),
                        "relatedSpdxElement": .string($0.2),
                    ]
                }),
        ]
        return document.serialized(pretty: true) + Data("\n".utf8)
    }
}
