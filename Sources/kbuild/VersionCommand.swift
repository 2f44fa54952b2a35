import ArgumentParser
import Foundation
import KbuildConfig
import KbuildCore
import KbuildRelease
import KbuildVersion

extension Kbuild {
    struct VersionCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version",
            abstract: "Print the version of the workspace, computed from git the Kubernetes way.",
            discussion: """
                The version is `git describe --tags --match='v*' --abbrev=14` of HEAD, rewritten to \
                semver as Kubernetes' hack/lib/version.sh does (v1.30.0-5-g0123456789abcd becomes \
                v1.30.0-5+0123456789abcd), with -dirty appended when `git status --porcelain` shows \
                anything, untracked files included.

                Overrides, strongest first: KUBE_GIT_VERSION_FILE names a file of KEY='value' lines \
                (as written by --save) that is used as it is; else KUBE_GIT_COMMIT, KUBE_GIT_TREE_STATE \
                and KUBE_GIT_VERSION replace what git would say. Without a git repository or a v* tag, \
                the version falls back to gitVersion in pkg/version/base.go.

                buildDate comes from SOURCE_DATE_EPOCH (seconds since 1970, UTC), else the HEAD \
                commit time.
                """)

        @Option(
            name: [.customShort("C"), .customLong("directory")],
            help: ArgumentHelp("The Go workspace.", valueName: "dir"))
        var directory: String = "."

        @Option(
            help: ArgumentHelp(
                "The release config whose version.style and version.baseFile apply (default: <dir>/release/kbuild.yaml, when it exists).",
                valueName: "file"))
        var config: String?

        @Flag(help: "Print JSON: version, major, minor, commit, treeState, buildDate, source.")
        var json = false

        @Flag(help: "Print only the version.")
        var short = false

        @Flag(
            name: .customLong("ldflags"),
            help: ArgumentHelp(
                "Print the -X flags of the release config's version.variables (default: Kubernetes' gitVersion, gitCommit, gitTreeState, buildDate, gitMajor, gitMinor in version.package), as one string for go build -ldflags. With PKG: Kubernetes' six names in PKG."))
        var ldflags = false

        @Argument(help: ArgumentHelp("With --ldflags: the package receiving Kubernetes' six variables.", valueName: "PKG"))
        var ldflagsPackage: String?

        @Option(
            help: ArgumentHelp(
                "Also write the version file (for KUBE_GIT_VERSION_FILE) to FILE, atomically.", valueName: "FILE"))
        var save: String?

        @Option(help: "semver (v1.30.0-5+0123456789abcd) or describe (git's raw v1.30.0-5-g0123456789abcd).")
        var style: VersionStyle?

        func validate() throws {
            if [json, short, ldflags].filter({ $0 }).count > 1 {
                throw ValidationError("--json, --short and --ldflags are alternatives: pick one")
            }
            if ldflagsPackage != nil && !ldflags {
                throw ValidationError("PKG is only taken with --ldflags (kbuild version --ldflags PKG)")
            }
        }

        func run() async throws {
            try await failing {
                let settings = try versionSettings()
                let info = try await VersionResolver().resolve(
                    workspace: directory, environment: ProcessInfo.processInfo.environment,
                    baseFile: settings?.baseFile ?? VersionResolver.defaultBaseFile,
                    style: style ?? settings?.style ?? .semver)
                if let save { try FileOutput.writeAtomically(info.versionFile, to: save) }
                var stamp: VersionStamp?
                if ldflags {
                    if let ldflagsPackage {
                        stamp = .kubernetes(package: ldflagsPackage)
                    } else if let settings {
                        stamp = settings.stamp
                    } else {
                        throw ValidationError(
                            "--ldflags without PKG needs a release config (\(ReleaseConfig.defaultPath) or --config); or name the package: --ldflags PKG")
                    }
                }
                print(try Self.render(info, json: json, short: short, stamp: stamp))
            }
        }

        /// The version settings of the release config: `--config`, else `release/kbuild.yaml` if the
        /// workspace has one (an unpacked source tarball or a plain Go module may have none).
        func versionSettings() throws -> ReleaseConfig.VersionSettings? {
            let workspace = ReleaseLoader.absoluteWorkspace(directory)
            let file = config.map { ReleaseLoader.absoluteWorkspace($0) } ?? workspace + "/" + ReleaseConfig.defaultPath
            guard config != nil || FileManager.default.fileExists(atPath: file) else { return nil }
            return try ConfigLoader.load(file: file, workspace: workspace, knownPlatforms: ReleaseConfig.knownPlatforms)
                .version
        }

        /// The chosen output form.
        static func render(_ info: VersionInfo, json: Bool, short: Bool, stamp: VersionStamp?) throws -> String {
            if short { return info.version }
            if let stamp { return info.ldflagsString(stamp) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                return String(decoding: try encoder.encode(info), as: UTF8.self)
            }
            return [
                ("version", info.version), ("major", info.major), ("minor", info.minor), ("commit", info.commit),
                ("treeState", info.treeState), ("buildDate", info.buildDate), ("source", info.source.rawValue),
            ].map { name, value in
                "\(name):".padding(toLength: 12, withPad: " ", startingAt: 0) + value
            }.joined(separator: "\n")
        }
    }
}
