import KbuildCore

/// Everything that can go wrong finding Go or building the binary matrix.
public enum GoBuildError: Error, CustomStringConvertible, Equatable {
    /// No `go` executable on the searched PATH.
    case goNotFound(searchedPath: String)
    /// `GO` names a file that is not an executable.
    case goNotExecutable(path: String)
    /// `go version` / `go env` / `go tool dist list` failed or printed something unexpected.
    case toolchainFailed(command: String, detail: String)
    /// The toolchain's version is not the one the release requires.
    case versionMismatch(required: String, found: String, executable: String)
    /// A path given to the builder is not absolute (the plan gives absolute paths).
    case relativePath(String)
    /// Two targets would write the same file.
    case duplicateOutput(path: String, binaries: [String])
    /// An ldflags word cannot be quoted for Go's flag parser (it holds spaces and both quote kinds).
    case unquotableLdflag(String)
    /// `--sandbox required` but `unshare -n` does not work here.
    case sandboxUnavailable(reason: String)
    /// The package does not exist in the workspace (or its modules).
    case packageNotFound(binary: String, package: String, platform: Platform, goError: String)
    /// The package exists but is not `package main`.
    case notAMainPackage(binary: String, package: String, platform: Platform)
    /// `go build` failed; carries Go's own error text.
    case buildFailed(binary: String, package: String, platform: Platform, goError: String)
    /// Creating, moving or removing an output failed.
    case outputFailed(path: String, reason: String)
    /// A `version.variables` target would stamp nothing: its package or variable is missing, or not a string.
    case versionVariable(target: String, field: String, problem: String)
    /// A cgo binary's platform has no C compiler here (`compiler` nil: none is known for the platform).
    case missingCompiler(platform: Platform, compiler: String?, package: String?, binaries: [String])

    public var description: String {
        switch self {
        case .goNotFound(let searched):
            let location = searched.isEmpty ? "(PATH is empty)" : "(searched \(searched))"
            return "go not found on PATH \(location); install golang-go (hack/install-deps.sh) or set GO=/path/to/go"
        case .goNotExecutable(let path):
            return "GO=\(path) is not an executable file; point GO at a go binary or unset it to search PATH"
        case .toolchainFailed(let command, let detail):
            return "`\(command)` failed: \(Self.oneLine(detail))"
        case .versionMismatch(let required, let found, let executable):
            return
                "Go \(found) at \(executable) does not match the required Go \(required) (go.version in the release config); install Go \(required) or set GO=/path/to/go"
        case .relativePath(let path):
            return "\(path): relative path given to the Go builder; the plan passes absolute paths"
        case .duplicateOutput(let path, let binaries):
            return
                "binaries \(binaries.joined(separator: ", ")) would all be written to \(path); each binary × platform needs its own output"
        case .unquotableLdflag(let word):
            return
                "ldflags word \(word) contains whitespace and both quote characters; Go's -ldflags parser cannot take it"
        case .sandboxUnavailable(let reason):
            return
                "--sandbox required, but the network sandbox (unshare -n) is unavailable: \(reason); use --sandbox auto or off"
        case .packageNotFound(let binary, let package, let platform, let goError):
            return "package \(package) of binary \(binary) (\(platform)) not found: \(Self.oneLine(goError))"
        case .notAMainPackage(let binary, let package, let platform):
            return
                "package \(package) of binary \(binary) (\(platform)) is not a main package; point the binary at a `package main` directory"
        case .buildFailed(let binary, let package, let platform, let goError):
            return "go build of \(binary) for \(platform) (package \(package)) failed: \(Self.oneLine(goError))"
        case .outputFailed(let path, let reason):
            return "cannot write build output \(path): \(reason)"
        case .missingCompiler(let platform, let compiler, let package, let binaries):
            let who = "cgo binaries \(binaries.joined(separator: ", ")) (static: false)"
            guard let compiler else {
                return "\(platform): no C compiler known for \(who); set cgo.\(platform).CC in the release config"
            }
            let install = package.map { "install the Debian package \($0)" } ?? "install a C compiler for \(platform)"
            return
                "\(platform): C compiler \(compiler) not found on /usr/bin:/bin for \(who); \(install) or set cgo.\(platform).CC in the release config"
        case .versionVariable(let target, let field, let problem):
            let receives = field.isEmpty ? "" : " (version.variables.\(field))"
            return
                "\(target)\(receives): \(Self.oneLine(problem)); -X stamps only package-level string variables (var Name string)"
        }
    }

    /// Go's multi-line error text folded onto one line.
    static func oneLine(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: "; ")
    }
}
