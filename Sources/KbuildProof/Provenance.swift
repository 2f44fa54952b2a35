import Foundation
import KbuildCore
import KbuildDigest

/// The source a release was built from, as the provenance names it.
public struct SourceReference: Sendable, Hashable, Encodable {
    /// The fetch URL of the `origin` remote, credentials removed; nil when there is none worth naming.
    public var remote: String?
    /// `refs/tags/v1.2.3`, `refs/heads/main` or the commit itself.
    public var ref: String
    /// The full sha1 of the release commit.
    public var commit: String
    /// `clean` or `dirty`.
    public var treeState: String

    public init(remote: String?, ref: String, commit: String, treeState: String) {
        self.remote = remote
        self.ref = ref
        self.commit = commit
        self.treeState = treeState
    }
}

/// A file the build read that is not source: a base image tarball.
public struct ProvenanceMaterial: Sendable, Hashable {
    /// Workspace-relative path (or file name), never a machine path.
    public var name: String
    public var sha256: String

    public init(name: String, sha256: String) {
        self.name = name
        self.sha256 = sha256
    }
}

/// Everything the provenance says, as plain values.
public struct ProvenanceInput: Sendable {
    public var project: String
    public var version: String
    public var sourceDate: SourceDate
    /// Every line of SHA256SUMS: the statement's subjects.
    public var subjects: [ChecksumLine]
    /// The release config, workspace-relative, and its sha256.
    public var configPath: String
    public var configSHA256: String
    /// Platforms per kind (`client`, `server`, …) after the environment narrowed them.
    public var platforms: [String: [String]]
    /// The `KUBE_*` variables that were set (they change what is built), by name.
    public var environment: [String: String]
    public var source: SourceReference?
    /// `1.19.8` (as `go version` prints it without `go`).
    public var goVersion: String?
    public var baseImages: [ProvenanceMaterial]
    /// The kbuild version (`builder.version.kbuild`).
    public var toolVersion: String
    /// Build settings that are kbuild's own business (gzip level, …), recorded for reproducing the release.
    public var internalParameters: [String: String]

    public init(
        project: String, version: String, sourceDate: SourceDate, subjects: [ChecksumLine], configPath: String,
        configSHA256: String, platforms: [String: [String]], environment: [String: String], source: SourceReference?,
        goVersion: String?, baseImages: [ProvenanceMaterial], toolVersion: String,
        internalParameters: [String: String] = [:]
    ) {
        self.project = project
        self.version = version
        self.sourceDate = sourceDate
        self.subjects = subjects
        self.configPath = configPath
        self.configSHA256 = configSHA256
        self.platforms = platforms
        self.environment = environment
        self.source = source
        self.goVersion = goVersion
        self.baseImages = baseImages
        self.toolVersion = toolVersion
        self.internalParameters = internalParameters
    }
}

/// The in-toto Statement v1 with a SLSA Provenance v1 predicate (`<project>.intoto.jsonl`): pure, byte-reproducible.
public enum Provenance {
    /// What a kbuild release is, as SLSA's `buildType`; docs/supply-chain.md documents its parameters.
    public static let buildType = "https://kbuild.dev/release/v1"
    /// The builder: kbuild run on a machine (no hosted build service vouches for it).
    public static let builderID = "https://kbuild.dev/builder/local"
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let predicateType = "https://slsa.dev/provenance/v1"
    /// DSSE `payloadType` of an in-toto statement.
    public static let payloadType = "application/vnd.in-toto+json"

    /// `<project>.intoto.jsonl`.
    public static func fileName(project: String) -> String { "\(project).intoto.jsonl" }

    /// The statement as one compact JSON line (no final newline): what is signed.
    public static func statement(_ input: ProvenanceInput) -> Data {
        let subjects = input.subjects.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            .map { line -> JSONValue in ["name": .string(line.name), "digest": ["sha256": .string(line.digest)]] }
        var external: [String: JSONValue] = [
            "config": ["path": .string(input.configPath), "digest": ["sha256": .string(input.configSHA256)]],
            "version": .string(input.version),
            "platforms": .object(input.platforms.mapValues { .array($0.map { .string($0) }) }),
        ]
        if !input.environment.isEmpty { external["environment"] = .object(input.environment.mapValues { .string($0) }) }
        var internals: [String: JSONValue] = input.internalParameters.mapValues { .string($0) }
        internals["sourceDateEpoch"] = .string(String(input.sourceDate.seconds))
        if let source = input.source { internals["treeState"] = .string(source.treeState) }

        var dependencies: [JSONValue] = []
        if let source = input.source {
            var entry: [String: JSONValue] = ["name": "source", "digest": ["gitCommit": .string(source.commit)]]
            if let remote = source.remote { entry["uri"] = .string("git+\(remote)@\(source.ref)") }
            dependencies.append(.object(entry))
        }
        if let go = input.goVersion {
            dependencies.append(["name": "go", "uri": .string("https://go.dev/dl/#go\(go)")])
        }
        for base in input.baseImages.sorted(by: { $0.name < $1.name }) {
            dependencies.append(["name": .string(base.name), "digest": ["sha256": .string(base.sha256)]])
        }
        let buildDefinition: JSONValue = [
            "buildType": .string(buildType), "externalParameters": .object(external),
            "internalParameters": .object(internals), "resolvedDependencies": .array(dependencies),
        ]
        // Derived from everything above, so two runs of one release share it and any change makes a new one.
        let invocation = Digest.of(
            JSONValue.array([.array(subjects), buildDefinition]).serialized(), .sha256
        ).hex
        let statement: JSONValue = [
            "_type": .string(statementType),
            "subject": .array(subjects),
            "predicateType": .string(predicateType),
            "predicate": [
                "buildDefinition": buildDefinition,
                "runDetails": [
                    "builder": ["id": .string(builderID), "version": ["kbuild": .string(input.toolVersion)]],
                    "metadata": ["invocationId": .string("urn:kbuild:invocation:\(invocation)")],
                ],
            ],
        ]
        return statement.serialized()
    }

    /// The file's bytes: the statement line, or when `key` is given the DSSE envelope line of it.
    public static func file(_ input: ProvenanceInput, signedWith key: Ed25519PrivateKey?) throws(DigestError) -> Data {
        let statement = statement(input)
        guard let key else { return statement + Data("\n".utf8) }
        return try DSSE.envelope(payload: statement, payloadType: payloadType, key: key) + Data("\n".utf8)
    }
}
