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
    }

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
        var taken: [String: Int] = [:]
        for package in packages where package.isMain { taken[package.name, default: 0] += 1 }
        let mains = packages.filter { $0.isMain && taken[$0.name] == 1 && GoBuilder.goOutputNameIsClear($0.importPath) }
            .map {
                WorkspaceFacts.MainPackage(
                    name: $0.name, importPath: $0.importPath, directory: $0.relativeDirectory, usesCgo: $0.usesCgo)
            }
        var version = try await detectVersion(packages, mains: mains, check: check)
        if version == .none, mode == .vendor, let vendored = try await componentBaseVersion(mains: mains, check: check)
        {
            version = vendored
        }
        return WorkspaceFacts(
            modulePath: modulePath, goVersion: GoModule.directive("go", in: goMod),
            workModules: hasWork ? GoModule.workModulePaths(workspace: workspace) : [], hasVendor: hasVendor,
            mains: mains,
            version: version, hasAddons: FileManager.default.fileExists(atPath: workspace + "/cluster/addons"),
            addonExcludes: unlabelledAddons(), host: .host)
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
        var isMain: Bool { packageName == "main" }
        /// The binary name `go build` gives it.
        var name: String { importPath.split(separator: "/").last.map(String.init) ?? importPath }
        var relativeDirectory: String {
            directory == workspace ? "." : "./" + String(directory.dropFirst(workspace.count + 1))
        }
    }

    /// `go list -e <patterns>` of the workspace (vendor, testdata, `_output` and dot-dirs are skipped by Go itself).
    func listPackages(_ mode: GoModMode, patterns: [String], deps: Bool = false) async throws -> [Listed] {
        let format = "{{.ImportPath}}\t{{.Name}}\t{{.Dir}}\t{{join .GoFiles \" \"}}\t{{len .CgoFiles}}\tend"
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
            guard fields.count == 6, !fields[1].isEmpty, fields[2].hasPrefix(real) else { return nil }
            return Listed(
                importPath: fields[0], packageName: fields[1], directory: fields[2],
                files: fields[3].split(separator: " ").map(String.init), usesCgo: fields[4] != "0", workspace: real)
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
        let names = ["gitVersion", "Version", "Revision", "GitCommit", "Commit", "BuildDate", "Date"]
        for package in candidates {
            let kinds = try await check.probe(directory: package.directory, files: package.files, names: names)
            let isString = { (name: String) in kinds[name] == "string" }
            if isString("gitVersion") {
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
        let names: [(field: VersionField, variable: String)] = [
            (.version, "gitVersion"), (.commit, "gitCommit"), (.treeState, "gitTreeState"), (.buildDate, "buildDate"),
            (.major, "gitMajor"), (.minor, "gitMinor"),
        ]
        let kinds = try await check.probe(
            directory: package.directory, files: package.files, names: names.map(\.variable))
        guard kinds["gitVersion"] == "string" else { return nil }
        // Explicit variables rather than version.package: a project whose script stamps fewer deletes lines.
        return .variables(
            names.filter { kinds[$0.variable] == "string" }
                .map { (field: $0.field, target: Self.componentBaseVersion + "." + $0.variable) })
    }
}
