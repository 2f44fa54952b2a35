/// A Go target platform, `os/arch`, as `go tool dist list` names it.
public struct Platform: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var os: String
    public var arch: String

    public init(os: String, arch: String) {
        self.os = os
        self.arch = arch
    }

    /// Parses `linux/amd64`; nil unless exactly two non-empty parts.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(os: String(parts[0]), arch: String(parts[1]))
    }

    /// The platform kbuild runs on, in Go's names.
    public static var host: Platform {
        #if os(Linux)
            let os = "linux"
        #elseif os(macOS)
            let os = "darwin"
        #elseif os(Windows)
            let os = "windows"
        #else
            let os = "unknown"
        #endif
        #if arch(x86_64)
            let arch = "amd64"
        #elseif arch(arm64)
            let arch = "arm64"
        #elseif arch(arm)
            let arch = "arm"
        #else
            let arch = "unknown"
        #endif
        return Platform(os: os, arch: arch)
    }

    public var description: String { "\(os)/\(arch)" }
    /// `linux-amd64`, as used in tarball names.
    public var dashed: String { "\(os)-\(arch)" }
    /// `.exe` on Windows, else empty.
    public var executableSuffix: String { os == "windows" ? ".exe" : "" }
    /// Go's GOARM for 32-bit arm (Kubernetes builds ARMv7), else nil.
    public var goarm: String? { arch == "arm" ? "7" : nil }
    /// The OCI platform variant (`v7` for arm, `v8` for arm64), else nil.
    public var ociVariant: String? {
        switch arch {
        case "arm": return "v7"
        case "arm64": return "v8"
        default: return nil
        }
    }

    public static func < (lhs: Platform, rhs: Platform) -> Bool {
        (lhs.os, lhs.arch) < (rhs.os, rhs.arch)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let platform = Platform(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not an os/arch platform: \(text)"))
        }
        self = platform
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
