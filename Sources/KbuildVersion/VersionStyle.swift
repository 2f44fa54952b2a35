/// How a git describe result becomes a version: Kubernetes semver rewriting, or the raw describe text.
public enum VersionStyle: String, Sendable, Codable, CaseIterable {
    case semver, describe
}
