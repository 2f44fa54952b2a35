import Foundation
import KbuildConfig
import KbuildCore
import KbuildGo
import KbuildVersion

/// What `kbuild init` learns about a Go workspace, by asking Go (`go list`, the declaration probe).
public struct WorkspaceFacts: Sendable, Hashable {
    /// One `package main` of the workspace.
    public struct MainPackage: Sendable, Hashable {
        /// The binary's name: the package's last path element.
        public var name: String
        /// The import path.
        public var importPath: String
        /// `./dir`, relative to the workspace.
        public var directory: String
        /// It has cgo files of its own (built with `static: false`).
        public var usesCgo: Bool
        /// A developer tool (under `hack/`, `tools/`, `test/` or `examples/`): proposed commented out.
        public var isTool = false
        /// Where the project's own build names it (`Makefile:12`), when `name` was read there.
        public var nameSource: String? = nil
    }

    /// Directories whose `package main`s are tools of the project, not what its release ships.
    public static let toolDirectories: Set<String> = ["hack", "tools", "test", "examples"]

    /// How the version reaches the binaries.
    public enum VersionStyle: Sendable, Hashable {
        /// Kubernetes' `pkg/version/base.go` names (`gitVersion`, …) in this package; base.go if found.
        case kubernetes(package: String, baseFile: String?)
        /// Other variables: field → `pkg.var` (containerd's `version.Version`/`Revision`, `main.version`, …).
        case variables([(field: VersionField, target: String)])
        /// No version variable found: nothing is stamped.
        case none

        public static func == (lhs: Self, rhs: Self) -> Bool {
            switch (lhs, rhs) {
            case let (.kubernetes(a, b), .kubernetes(c, d)): a == c && b == d
            case let (.variables(a), .variables(b)):
                a.map { "\($0.field)=\($0.target)" } == b.map { "\($0.field)=\($0.target)" }
            case (.none, .none): true
            default: false
            }
        }

        public func hash(into hasher: inout Hasher) {
            switch self {
            case let .kubernetes(package, base):
                hasher.combine(package)
                hasher.combine(base)
            case let .variables(list): for item in list { hasher.combine(item.target) }
            case .none: hasher.combine(0)
            }
        }
    }

    /// `module` of go.mod (nil without one).
    public var modulePath: String?
    /// `go` directive of go.mod (the language version).
    public var goVersion: String?
    /// Modules of go.work, if any.
    public var workModules: [String]
    public var hasVendor: Bool
    public var mains: [MainPackage]
    public var version: VersionStyle
    /// `cluster/addons` exists.
    public var hasAddons: Bool
    /// Manifests under `cluster/addons` without the add-on label: left out, so the release works as is.
    public var addonExcludes: [String]
    /// The platform of this machine (the platform init configures).
    public var host: Platform
    /// base.go beside the version variables, when they are Kubernetes' names but not all six.
    public var versionBaseFile: String? = nil
    /// Packages main that are not proposed, each with why (one line each, for the user).
    public var dropped: [String] = []
    /// The files read for the project's own binary names (Makefile, hack/ scripts).
    public var namesRead: [String] = []

    /// The binaries the release ships (tools left out, unless there is nothing else).
    public var released: [MainPackage] {
        let shipped = mains.filter { !$0.isTool }
        return shipped.isEmpty ? mains : shipped
    }
}

/// Inspects a workspace for `kbuild init`.
public struct WorkspaceInspector: Sendable {
    public var workspace: String
    public var toolchain: GoToolchain
    public var runner: any ProcessRunner
    /// A shared Go build cache (`KBUILD_GOCACHE`), else `_output/local/go/cache`.
    public var goCache: String?

    public init(
        workspace: String, toolchain: GoToolchain, runner: any ProcessRunner = SubprocessRunner(),
        goCache: String? = nil
    ) {
        self.workspace = workspace
        self.toolchain = toolchain
        self.runner = runner
        self.goCache = goCache
    }

    /// Every fact `ConfigTemplate` needs.
    public func inspect() async throws -> WorkspaceFacts {
        let goMod = (try? String(contentsOfFile: workspace + "/go.mod", encoding: .utf8)) ?? ""
        let modulePath = GoModule.directive("module", in: goMod)
        let hasWork = FileManager.default.fileExists(atPath: workspace + "/go.work")
        let hasVendor = FileManager.default.fileExists(atPath: workspace + "/vendor/modules.txt")
        let mode: GoModMode = hasWork ? .readonly : hasVendor ? .vendor : .mod
        let check = VersionVariableCheck(toolchain: toolchain, settings: settings(mode), runner: runner)

        // In workspace mode ./... stops at nested modules: list every used module by its path instead.
        let patterns = hasWork ? GoModule.workModulePaths(workspace: workspace).map { $0 + "/..." } : ["./..."]
        let packages = try await listPackages(mode, patterns: patterns.isEmpty ? ["./..."] : patterns)
        let projectNames = ProjectBinaryNames.scan(workspace: workspace)
        let (mains, dropped) = Self.mains(packages, projectNames: projectNames)
        var version = try await detectVersion(packages, mains: mains, check: check)
        if version == .none, mode == .vendor, let vendored = try await componentBaseVersion(mains: mains, check: check)
        {
            version = vendored
        }
        var facts = WorkspaceFacts(
            modulePath: modulePath, goVersion: GoModule.directive("go", in: goMod),
            workModules: hasWork ? GoModule.workModulePaths(workspace: workspace) : [], hasVendor: hasVendor,
            mains: mains,
            version: version, hasAddons: FileManager.default.fileExists(atPath: workspace + "/cluster/addons"),
            addonExcludes: unlabelledAddons(), host: .host)
        facts.dropped = dropped
        facts.namesRead = projectNames.read
        if case .variables(let list) = version, let first = list.first,
            let package = packages.first(where: { first.target == $0.importPath + ".gitVersion" }),
            FileManager.default.fileExists(atPath: package.directory + "/base.go")
        {
            facts.versionBaseFile = String((package.directory + "/base.go").dropFirst(package.workspace.count + 1))
        }
        return facts
    }

    /// The main packages to propose, named as the project's own build names them, tools marked; and a
    /// line for each one left out (Go refused its directory's name, two share a name, no clear name).
    static func mains(_ packages: [Listed], projectNames: ProjectBinaryNames) -> (
        [WorkspaceFacts.MainPackage], [String]
    ) {
        var dropped = packages.compactMap(\.refusal)
        let candidates = packages.filter(\.isMain).map { package in
            var main = WorkspaceFacts.MainPackage(
                name: package.name, importPath: package.importPath, directory: package.relativeDirectory,
                usesCgo: package.usesCgo)
            let parents = main.directory.split(separator: "/").dropFirst().dropLast()
            main.isTool = parents.contains { WorkspaceFacts.toolDirectories.contains(String($0)) }
            if let (name, source) = projectNames.names[main.directory] {
                (main.name, main.nameSource) = (name, source)
            }
            return main
        }
        var taken: [String: [String]] = [:]
        for main in candidates { taken[main.name, default: []].append(main.directory) }
        var mains: [WorkspaceFacts.MainPackage] = []
        for main in candidates {
            if let directories = taken[main.name], directories.count > 1 {
                dropped.append(
                    "\(main.directory): \(directories.count) packages main are named \(Escaping.shown(main.name)) (\(directories.joined(separator: ", "))); add them by hand with distinct names"
                )
            } else if main.nameSource == nil, !GoBuilder.goOutputNameIsClear(main.importPath) {
                dropped.append(
                    "\(main.directory): go build gives it no clear name (a module root or a /vN directory); add it by hand"
                )
            } else {
                mains.append(main)
            }
        }
        return (mains, dropped)
    }

    /// `cluster/addons` manifests that `AddonManifests.find` would refuse for lack of the add-on label.
    func unlabelledAddons() -> [String] {
        let root = workspace + "/cluster/addons"
        guard FileManager.default.fileExists(atPath: root),
            let files = try? AddonManifests.files(under: root, workspace: workspace)
        else { return [] }
        return files.filter { file in
            guard AddonManifests.extensions.contains(where: { file.hasSuffix($0) }) else { return false }
            do {
                try AddonManifestCheck.check(root + "/" + file, displayPath: file)
                return false
            } catch {
                return true
            }
        }.map { "cluster/addons/" + $0 }
    }

    func settings(_ mode: GoModMode) -> GoBuildSettings {
        GoBuildSettings(
            workspace: workspace, goState: OutputLayout(workspace: workspace).goState, modMode: mode, jobs: 1,
            goCache: goCache)
    }

    struct Listed {
        var importPath: String
        var packageName: String
        var directory: String
        var files: [String]
        var usesCgo: Bool
        var workspace: String
        /// Go's error loading it (`go list -e`), when there was one.
        var error: String = ""
        var isMain: Bool { packageName == "main" }
        /// Why Go will not build this package at all, for a directory name Go refuses in import paths.
        var refusal: String? {
            guard packageName.isEmpty, error.contains("malformed import path"),
                let start = error.range(of: "invalid char '")
            else { return nil }
            let character = error[start.upperBound...].prefix { $0 != "'" }
            let what =
                switch character {
                case " ": "a space"
                case "\\n": "a newline"
                case "\\t": "a tab"
                default: "the character '\(character)'"
                }
            return
                "\(Escaping.shown(importPath)): \(what) in its directory's name; Go refuses such import paths (rename the directory to build it)"
        }
        /// The binary name `go build` gives it.
        var name: String { importPath.split(separator: "/").last.map(String.init) ?? importPath }
        var relativeDirectory: String {
            directory == workspace ? "." : "./" + String(directory.dropFirst(workspace.count + 1))
        }
    }

    /// `go list -e <patterns>` of the workspace (vendor, testdata, `_output` and dot-dirs are skipped by Go itself).
    func listPackages(_ mode: GoModMode, patterns: [String], deps: Bool = false) async throws -> [Listed] {
        // Import paths and errors quoted: a directory name with a newline must not split a line.
        let format =
            "{{printf \"%q\" .ImportPath}}\t{{.Name}}\t{{.Dir}}\t{{join .GoFiles \" \"}}\t{{len .CgoFiles}}\t{{if .Error}}{{printf \"%q\" .Error.Err}}{{end}}\tend"
        var environment = GoBuilder(toolchain: toolchain, settings: settings(mode), runner: runner)
            .environment(for: .host, isStatic: true)
        environment["CGO_ENABLED"] = "1"  // list cgo files as the build of a cgo binary would
        try? FileManager.default.createDirectory(atPath: environment["TMPDIR"] ?? "", withIntermediateDirectories: true)
        let command = Command(
            toolchain.executable, ["list", "-e"] + (deps ? ["-deps"] : []) + ["-f", format] + patterns,
            environment: .exact(environment),
            workingDirectory: workspace)
        let output = try await GoToolchain.query(runner, command)
        let real = Paths.parent(of: workspace + "/x")
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 7, let importPath = GoQuoted.unquote(fields[0]) else { return nil }
            let error = GoQuoted.unquote(fields[5]) ?? ""
            if fields[1].isEmpty {
                // Kept only to say why Go refused it.
                return Listed(
                    importPath: importPath, packageName: "", directory: "", files: [], usesCgo: false, workspace: real,
                    error: error)
            }
            guard fields[2].hasPrefix(real) else { return nil }
            return Listed(
                importPath: importPath, packageName: fields[1], directory: fields[2],
                files: fields[3].split(separator: " ").map(String.init), usesCgo: fields[4] != "0", workspace: real,
                error: error)
        }
    }

    /// Kubernetes' names in a `version` package first, then `Version`/`Revision`-style ones, then `main.version`.
    func detectVersion(_ packages: [Listed], mains: [WorkspaceFacts.MainPackage], check: VersionVariableCheck)
        async throws
        -> WorkspaceFacts.VersionStyle
    {
        let candidates = packages.filter { $0.packageName == "version" && !$0.files.isEmpty }
            .sorted {
                ($0.importPath.hasSuffix("/pkg/version") ? 0 : 1, $0.importPath.count) < (
                    $1.importPath.hasSuffix("/pkg/version") ? 0 : 1, $1.importPath.count
                )
            }
        let names =
            Self.kubernetesNames.map(\.variable) + ["Version", "Revision", "GitCommit", "Commit", "BuildDate", "Date"]
        for package in candidates {
            let kinds = try await check.probe(directory: package.directory, files: package.files, names: names)
            let isString = { (name: String) in kinds[name] == "string" }
            if isString("gitVersion") {
                // Every name kbuild would stamp, asked of Go: a missing one would be ignored by the linker.
                let present = Self.kubernetesNames.filter { isString($0.variable) }
                guard present.count == Self.kubernetesNames.count else {
                    return .variables(present.map { (field: $0.field, target: package.importPath + "." + $0.variable) })
                }
                let base = package.directory + "/base.go"
                let relativeBase =
                    FileManager.default.fileExists(atPath: base)
                    ? String(base.dropFirst(package.workspace.count + 1)) : nil
                return .kubernetes(package: package.importPath, baseFile: relativeBase)
            }
            if isString("Version") {
                var list: [(field: VersionField, target: String)] = [(.version, package.importPath + ".Version")]
                if let commit = ["Revision", "GitCommit", "Commit"].first(where: isString) {
                    list.append((.commit, package.importPath + "." + commit))
                }
                if let date = ["BuildDate", "Date"].first(where: isString) {
                    list.append((.buildDate, package.importPath + "." + date))
                }
                return .variables(list)
            }
        }
        // GoReleaser's convention: main.version (without the v), main.commit, main.date.
        var found: [String: Bool] = [:]
        for main in packages.filter(\.isMain) where mains.contains(where: { $0.importPath == main.importPath }) {
            let kinds = try await check.probe(
                directory: main.directory, files: main.files, names: ["version", "commit", "date"])
            for (name, kind) in kinds where kind == "string" { found[name] = true }
        }
        guard found["version"] == true else { return .none }
        var list: [(field: VersionField, target: String)] = [(.bareVersion, "main.version")]
        if found["commit"] == true { list.append((.commit, "main.commit")) }
        if found["date"] == true { list.append((.buildDate, "main.date")) }
        return .variables(list)
    }
}

extension WorkspaceInspector {
    /// Kubernetes' own version package, which components outside kubernetes/kubernetes vendor: their
    /// hack/lib/version.sh stamps `-X k8s.io/component-base/version.gitVersion=…`, `version.Get()` and verflag print it.
    static let componentBaseVersion = "k8s.io/component-base/version"

    /// Kubernetes' six version variables, as `version.package` stamps them.
    static let kubernetesNames: [(field: VersionField, variable: String)] = [
        (.version, "gitVersion"), (.commit, "gitCommit"), (.treeState, "gitTreeState"), (.buildDate, "buildDate"),
        (.major, "gitMajor"), (.minor, "gitMinor"),
    ]

    /// Kubernetes' names in the vendored `k8s.io/component-base/version`, when a binary depends on it (`go list -deps`:
    /// vendored is not enough, and the workspace's own variables were looked for first).
    func componentBaseVersion(mains: [WorkspaceFacts.MainPackage], check: VersionVariableCheck) async throws
        -> WorkspaceFacts.VersionStyle?
    {
        guard !mains.isEmpty,
            FileManager.default.fileExists(atPath: workspace + "/vendor/" + Self.componentBaseVersion)
        else { return nil }
        let dependencies = try await listPackages(.vendor, patterns: mains.map(\.directory), deps: true)
        guard let package = dependencies.first(where: { $0.importPath == Self.componentBaseVersion }),
            !package.files.isEmpty
        else { return nil }
        let names = Self.kubernetesNames
        let kinds = try await check.probe(
            directory: package.directory, files: package.files, names: names.map(\.variable))
        guard kinds["gitVersion"] == "string" else { return nil }
        // Explicit variables rather than version.package: a project whose script stamps fewer deletes lines.
        return .variables(
            names.filter { kinds[$0.variable] == "string" }
                .map { (field: $0.field, target: Self.componentBaseVersion + "." + $0.variable) })
    }
}

/// Go's `%q` strings (strconv.Quote) back to text: what `go list` prints for a path that may hold a
/// newline, a tab or a quote.
enum GoQuoted {
    /// The text of `"…"`; an empty field is empty text; nil for anything not in `%q`'s form.
    static func unquote(_ quoted: String) -> String? {
        if quoted.isEmpty { return "" }
        guard quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\"") else { return nil }
        var scalars = Array(quoted.unicodeScalars.dropFirst().dropLast())[...]
        var result = String.UnicodeScalarView()
        var bytes: [UInt8] = []  // \xNN escapes: raw bytes, decoded together
        func flush() {
            if !bytes.isEmpty { result.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars) }
            bytes = []
        }
        while let scalar = scalars.popFirst() {
            guard scalar == "\\" else {
                flush()
                result.append(scalar)
                continue
            }
            guard let kind = scalars.popFirst() else { return nil }
            let simple: [Unicode.Scalar: Unicode.Scalar] = [
                "n": "\n", "t": "\t", "r": "\r", "\"": "\"", "\\": "\\", "a": "\u{7}", "b": "\u{8}", "f": "\u{c}",
                "v": "\u{b}",
            ]
            if let plain = simple[kind] {
                flush()
                result.append(plain)
                continue
            }
            let width = ["x": 2, "u": 4, "U": 8][kind] ?? 0
            guard width > 0, scalars.count >= width,
                let value = UInt32(String(String.UnicodeScalarView(scalars.prefix(width))), radix: 16)
            else { return nil }
            scalars = scalars.dropFirst(width)
            if kind == "x" {
                bytes.append(UInt8(value))
            } else {
                flush()
                guard let decoded = Unicode.Scalar(value) else { return nil }
                result.append(decoded)
            }
        }
        flush()
        return String(result)
    }
}
