import KbuildDigest

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
