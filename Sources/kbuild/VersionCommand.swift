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
                the version falls back to gitVersion in pkg/version/base.go — except in a tree unpacked from \
                `git archive`, whose export-subst placeholders (.kbuild-archive-version, or Kubernetes' \
                hack/lib/version.sh) give the archived commit, its v* tag and tree state archive. A shallow clone without \
                v* tags falls back too, with a warning on stderr; --strict-version (or CI=true) makes \
                it an error. A repository git refuses (dubious ownership: see safe.directory) or \
                cannot read is always an error.

                buildDate comes from SOURCE_DATE_EPOCH (seconds since 1970, UTC), else the HEAD \
                commit time (in an unpacked git archive: the one .kbuild-archive-version carries).

                Environment: KUBE_GIT_VERSION_FILE, KUBE_GIT_VERSION, KUBE_GIT_COMMIT, KUBE_GIT_TREE_STATE, \
                SOURCE_DATE_EPOCH (above).
                """)

        @OptionGroup var location: LocationOptions

        @Flag(help: "Print JSON: version, major, minor, commit, treeState, buildDate, source.")
        var json = false

        @Flag(help: "Print only the version.")
        var short = false

        @Flag(
            name: .customLong("ldflags"),
            help: ArgumentHelp(
                "Print the -X flags of the release config's version.variables (default: Kubernetes' gitVersion, gitCommit, gitTreeState, buildDate, gitMajor, gitMinor in version.package), as one string for go build -ldflags. With PKG: Kubernetes' six names in PKG."
            ))
        var ldflags = false

        @Argument(
            help: ArgumentHelp("With --ldflags: the package receiving Kubernetes' six variables.", valueName: "PKG"))
        var ldflagsPackage: String?

        @Option(
            help: ArgumentHelp(
                "Also write the version file (for KUBE_GIT_VERSION_FILE) to FILE, atomically.", valueName: "FILE"))
        var save: String?

        @Option(help: "semver (v1.30.0-5+0123456789abcd) or describe (git's raw v1.30.0-5-g0123456789abcd).")
        var style: VersionStyle?

        @OptionGroup var strict: StrictVersionOption

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
                try ReleaseLoader.checkWorkspace(location.workspace)
                let settings = try location.versionSettings()
                let info = try await VersionResolver().resolve(
                    workspace: location.workspace, environment: ProcessInfo.processInfo.environment,
                    baseFile: settings?.baseFile ?? VersionResolver.defaultBaseFile,
                    style: style ?? settings?.style ?? .semver, strict: strict.strictVersion, warn: warning)
                if let save { try FileOutput.writeAtomically(info.versionFile, to: save) }
                var stamp: VersionStamp?
                if ldflags {
                    if let ldflagsPackage {
                        stamp = .kubernetes(package: ldflagsPackage)
                    } else if let settings {
                        stamp = settings.stamp
                    } else {
                        throw ValidationError(
                            "--ldflags without PKG needs a release config (\(ReleaseConfig.defaultPath) or --config); or name the package: --ldflags PKG"
                        )
                    }
                }
                print(try info.rendered(stamp.map { .ldflags($0) } ?? form))
            }
        }

        /// The output form the flags chose (`--ldflags` aside: it needs the config's stamp).
        var form: VersionInfo.Form {
            if short { return .short }
            return json ? .json : .fields
        }
    }
}
