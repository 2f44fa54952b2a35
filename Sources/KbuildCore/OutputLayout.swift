/// Where everything goes under `_output/` (Kubernetes-compatible; see docs/release.md).
public struct OutputLayout: Sendable, Hashable {
    /// The `_output` directory, absolute.
    public var root: String

    public init(root: String) {
        self.root = root
    }

    /// `_output` inside a workspace.
    public init(workspace: String) {
        self.root = workspace + "/_output"
    }

    /// `_output/local/bin/<os>/<arch>`.
    public func binaryDirectory(_ platform: Platform) -> String {
        "\(root)/local/bin/\(platform.os)/\(platform.arch)"
    }

    /// `_output/local/bin/<os>/<arch>/<bin>[.exe]`.
    public func binary(_ name: String, _ platform: Platform) -> String {
        binaryDirectory(platform) + "/" + name + platform.executableSuffix
    }

    /// `_output/local/go`: GOCACHE, GOMODCACHE, GOPATH and HOME of hermetic builds.
    public var goState: String { "\(root)/local/go" }
    /// `_output/release-images`.
    public var releaseImages: String { "\(root)/release-images" }
    /// `_output/release-images/<arch>`.
    public func imageDirectory(arch: String) -> String { "\(releaseImages)/\(arch)" }
    /// `_output/release-stage`.
    public var releaseStage: String { "\(root)/release-stage" }
    /// `_output/release-tars`.
    public var releaseTars: String { "\(root)/release-tars" }
    /// `_output/cache`: content-addressed records of earlier outputs.
    public var cache: String { "\(root)/cache" }
    /// The lock file that keeps two releases on one `_output` apart.
    public var lockFile: String { "\(root)/.kbuild.lock" }
}
