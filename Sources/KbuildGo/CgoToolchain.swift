import Foundation
import KbuildCore

/// The C toolchain of cgo builds (`static: false`): which compilers and flags each platform gets.
public enum CgoToolchain {
    /// The variables a config may set per platform.
    public static let variables = ["CC", "CXX", "AR", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS"]

    /// Debian's cross-compilers, as Kubernetes' hack/lib/golang.sh picks them for cgo binaries.
    public static let debianCompilers: [String: (cc: String, cxx: String)] = [
        "linux/amd64": ("x86_64-linux-gnu-gcc", "x86_64-linux-gnu-g++"),
        "linux/386": ("i686-linux-gnu-gcc", "i686-linux-gnu-g++"),
        "linux/arm": ("arm-linux-gnueabihf-gcc", "arm-linux-gnueabihf-g++"),
        "linux/arm64": ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++"),
        "linux/ppc64le": ("powerpc64le-linux-gnu-gcc", "powerpc64le-linux-gnu-g++"),
        "linux/s390x": ("s390x-linux-gnu-gcc", "s390x-linux-gnu-g++"),
    ]

    /// The Debian package that provides `compiler` (`aarch64-linux-gnu-gcc` → `gcc-aarch64-linux-gnu`), if known.
    public static func debianPackage(of compiler: String) -> String? {
        let name = Paths.name(of: compiler)
        if name == "gcc" || name == "cc" { return "gcc" }
        if name == "g++" || name == "c++" { return "g++" }
        for suffix in ["-gcc", "-g++"] where name.hasSuffix(suffix) {
            let triple = String(name.dropLast(suffix.count))
            guard !triple.isEmpty, triple.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                return nil
            }
            return (suffix == "-gcc" ? "gcc-" : "g++-") + triple
        }
        return nil
    }

    /// The cgo part of the build environment of `platform`: the configured variables over the defaults
    /// (the host's `gcc`, else Debian's cross-compiler). C flags map the workspace and Go's state
    /// directory to `.`, so `__FILE__` and debug paths do not depend on the checkout directory.
    public static func environment(
        for platform: Platform, configured: [String: String], workspace: String, goState: String
    ) -> [String: String] {
        var result: [String: String] = [:]
        if platform == .host {
            result["CC"] = "gcc"
            result["CXX"] = "g++"
        } else if let cross = debianCompilers[platform.description] {
            result["CC"] = cross.cc
            result["CXX"] = cross.cxx
        }
        let maps = "-ffile-prefix-map=\(workspace)=. -ffile-prefix-map=\(goState)=."
        // Go's own default for CGO_CFLAGS and friends is "-g -O2": keep it, add the maps, then the config's.
        for name in ["CGO_CFLAGS", "CGO_CXXFLAGS"] {
            result[name] = (["-g -O2", maps] + [configured[name]].compactMap { $0 }).joined(separator: " ")
        }
        for (name, value) in configured where name != "CGO_CFLAGS" && name != "CGO_CXXFLAGS" {
            result[name] = value
        }
        return result
    }

    /// `command`'s executable (its first word) on `path`, or the absolute path itself; nil when absent.
    static func locate(_ command: String, path: String) -> String? {
        guard let first = command.split(separator: " ").first.map(String.init) else { return nil }
        if first.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: first) ? first : nil }
        return ExecutableLookup.find(first, path: path)
    }
}
