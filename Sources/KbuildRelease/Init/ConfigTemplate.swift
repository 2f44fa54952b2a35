import Foundation
import KbuildConfig
import KbuildCore
import KbuildGo
import KbuildVersion

/// The layout `kbuild init --layout` starts a config from.
public enum StarterLayout: String, Sendable, CaseIterable {
    /// Kubernetes' tarballs (no `archives:`): the default.
    case kubernetes
    /// What `goreleaser init` configures: `<project>_<Os>_<uname arch>.tar.gz`, zip on Windows,
    /// LICENSE*/README*/CHANGELOG*, one `checksums.txt`.
    case goreleaser
}

/// Writes the commented `release/kbuild.yaml` that `kbuild init` proposes for a workspace.
public enum ConfigTemplate {
    /// The config text for `facts`: every binary for the host platform, client tarballs, the version
    /// variables found, add-ons when there are some. It loads as it is.
    public static func render(_ facts: WorkspaceFacts, project: String, layout: StarterLayout = .kubernetes) -> String {
        var lines: [String] = [
            "# The release of this workspace, proposed by `kbuild init`; every field is in kbuild's docs/config.md",
            "# (layouts: docs/layouts.md). Check it, then `kbuild plan` and `kbuild release`.",
            "project: \(quote(project))",
            "",
        ]
        lines += versionSection(facts)
        lines += ["", "go:"]
        let goVersion = facts.goVersion.map { " (go.mod says go \($0): the language version, not the toolchain)" } ?? ""
        lines.append("  # version: \"1.19\"              # require this Go toolchain\(goVersion)")
        if !facts.workModules.isEmpty {
            lines.append("  mod: readonly                  # go.work: \(facts.workModules.joined(separator: ", "))")
        } else if facts.hasVendor {
            lines.append("  mod: vendor                    # vendor/modules.txt: builds offline from vendor/")
        } else {
            lines.append(
                "  mod: mod                       # modules come from the module cache (GOPROXY=off: fetch them first)")
        }
        lines += [
            "  tags: []", "  ldflags: []", "",
            "platforms:",
            "  # The host platform only; add more, e.g. [linux/amd64, linux/arm64, darwin/arm64, windows/amd64].",
            "  client: [\(facts.host)]",
            "  server: []                     # server binaries (and their images) need linux platforms here",
            "  node: []",
            "  test: []",
            "",
            "binaries:                        # every `package main` of the workspace (go list ./...)",
        ]
        if !facts.namesRead.isEmpty {
            lines.append(
                "  # names as the project's own build gives them, read in: \(facts.namesRead.joined(separator: ", "))")
        }
        let released = facts.released
        for main in facts.mains {
            let shipped = released.contains(main)
            let prefix = shipped ? "  " : "  # "
            let named = main.nameSource.map { "   # named as \($0) builds \(main.directory)" } ?? ""
            let tool = shipped ? "" : "   # a tool under \(main.directory.split(separator: "/")[1])/: not released"
            lines.append(prefix + "- name: \(quote(main.name))" + named + tool)
            lines.append(prefix + "  package: \(quote(main.directory))")
            lines.append(prefix + "  kinds: [client]")
            if main.usesCgo {
                lines.append(prefix + "  static: false                # has cgo files: CGO_ENABLED=1 (see cgo: below)")
            }
        }
        for line in facts.dropped { lines.append("  # not proposed: " + Escaping.oneLine(line)) }
        lines += ["", "addons:"]
        lines.append(
            facts.hasAddons
                ? "  dirs: [cluster/addons]"
                : "  dirs: []                       # no cluster/addons: the manifests tarball is empty")
        if !facts.addonExcludes.isEmpty {
            lines.append("  exclude:                       # no kubernetes.io/cluster-service or addonmanager label")
            for file in facts.addonExcludes { lines.append("    - \(quote(file))") }
        }
        lines += [
            "", "# cgo:                           # C toolchains of static: false binaries, per platform",
            "#   linux/arm64: {CC: aarch64-linux-gnu-gcc, CXX: aarch64-linux-gnu-g++}", "",
        ]
        lines += layoutSection(layout)
        return lines.joined(separator: "\n")
    }

    /// `archives:` and `sums:` of a starter layout (none for Kubernetes' default tarballs).
    static func layoutSection(_ layout: StarterLayout) -> [String] {
        switch layout {
        case .kubernetes:
            return []
        case .goreleaser:
            return [
                "# goreleaser init's archives (docs/layouts.md): tool_Linux_x86_64.tar.gz, tool_Windows_x86_64.zip, …",
                "archives:",
                "  - name: \"{{project}}_{{os | title}}_{{arch | uname}}\"",
                "    formats: {windows: zip}",
                "    files: [\"LICENSE*\", \"README*\", \"CHANGELOG*\"]",
                "sums:",
                "  sha256: checksums.txt", "",
            ]
        }
    }

    static func versionSection(_ facts: WorkspaceFacts) -> [String] {
        switch facts.version {
        case let .kubernetes(package, baseFile):
            var lines = [
                "version:", "  package: \(quote(package))   # Kubernetes' gitVersion, gitCommit, … (found by go list)",
            ]
            if let baseFile { lines.append("  baseFile: \(quote(baseFile))        # the version without git") }
            lines.append("  style: semver")
            return lines
        case let .variables(list):
            var lines = ["version:", "  variables:                     # found in the sources; -X stamps them"]
            if list.contains(where: { $0.target.hasPrefix(WorkspaceInspector.componentBaseVersion + ".") }) {
                lines.insert(
                    "  # The binaries import the vendored k8s.io/component-base/version (go list -deps): Kubernetes' names;"
                        + "\n  # delete the fields your hack/lib/version.sh does not stamp.", at: 1)
            }
            if let baseFile = facts.versionBaseFile {
                let count = list.count
                lines[1] =
                    "  variables:                     # Kubernetes' names, the \(count) of six the package declares (asked of Go)"
                lines.insert("  baseFile: \(quote(baseFile))        # the version without git", at: 1)
            }
            for (field, target) in list { lines.append("    \(field.rawValue): \(quote(target))") }
            return lines
        case .none:
            return [
                "version:",
                "  # No version variable found. Map kbuild's fields onto yours, e.g. main.version:",
                "  #   bareVersion: main.version    (or version, commit, treeState, buildDate, major, minor)",
                "  variables: {}",
            ]
        }
    }

    /// A YAML double-quoted scalar.
    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A safe project name from the module path's last element (`github.com/containerd/containerd` → `containerd`).
    public static func projectName(modulePath: String?, workspace: String) -> String {
        var base = modulePath?.split(separator: "/").last.map(String.init) ?? Paths.name(of: workspace)
        if base.count >= 2, base.first == "v", base.dropFirst().allSatisfy(\.isNumber),
            let parent = modulePath?.split(separator: "/").dropLast().last
        {
            base = String(parent)
        }
        let cleaned = String(base.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" })
        let trimmed = cleaned.drop { !($0.isLetter || $0.isNumber) }
        return trimmed.isEmpty ? "project" : String(trimmed)
    }
}

/// `kbuild init`: inspect, render, check that the config loads, write it atomically.
public enum WorkspaceInitializer {
    /// Writes `<workspace>/release/kbuild.yaml` (refused when it exists, unless `force`), ignores `_output`
    /// in git and, with `archiveVersion`, writes kbuild's `git archive` version file; returns the config's
    /// path and text, the facts, whether `.gitignore` was extended and whether the archive version file
    /// was written.
    public static func initialize(
        workspace: String, force: Bool, layout: StarterLayout = .kubernetes, archiveVersion: Bool = false,
        environment: [String: String], runner: any ProcessRunner = SubprocessRunner()
    ) async throws -> (path: String, text: String, facts: WorkspaceFacts, ignoredOutput: Bool, archiveStamp: Bool) {
        let workspace = Paths.absolute(workspace)
        let path = workspace + "/" + ReleaseConfig.defaultPath
        if FileManager.default.fileExists(atPath: path) && !force {
            throw ReleaseError.conflict("\(path): a release config exists; kbuild init --force replaces it")
        }
        // A repository git refuses makes Go list nothing: name git's reason instead of "no package main".
        try await VersionResolver(runner: runner).checkRepository(workspace)
        let toolchain = try await GoToolchain.locate(runner: runner, environment: environment)
        let goCache = environment["KBUILD_GOCACHE"].flatMap { $0.isEmpty ? nil : $0 }
        let facts = try await WorkspaceInspector(
            workspace: workspace, toolchain: toolchain, runner: runner, goCache: goCache
        )
        .inspect()
        guard !facts.released.isEmpty else {
            let skipped = facts.dropped.first.map { " (not proposed: \($0))" } ?? ""
            throw ReleaseError.conflict(
                "\(workspace): go list ./... found no package main with a clear binary name\(skipped); kbuild releases Go binaries: write \(ReleaseConfig.defaultPath) by hand"
            )
        }
        let text = ConfigTemplate.render(
            facts, project: ConfigTemplate.projectName(modulePath: facts.modulePath, workspace: workspace),
            layout: layout)
        // What init writes must load: checked before anything is written.
        let known = (try? await toolchain.distList(runner: runner)) ?? ReleaseConfig.knownPlatforms
        _ = try ConfigLoader.parse(yaml: text, file: path, workspace: workspace, knownPlatforms: known)
        // release/ is created or used only as a real directory of the repository: never written through a symlink.
        do {
            try Beneath(workspace).makeDirectories(Paths.parent(of: ReleaseConfig.defaultPath))
        } catch {
            throw ReleaseError.unsafeInput(
                path: error.path, reason: "\(error.reason); allowed: a directory of the repository, not a symlink")
        }
        try FileOutput.writeAtomically(text, to: path)
        let ignored = try await ignoreOutput(workspace: workspace, runner: runner)
        let stamped = archiveVersion ? try writeArchiveStamp(workspace: workspace) : false
        return (path, text, facts, ignored, stamped)
    }

    /// Writes kbuild's `export-subst` file and its `.gitattributes` line, so that a `git archive` of a
    /// tag unpacks to a tree that knows its version; not when the workspace carries Kubernetes'
    /// placeholders (hack/lib/version.sh) or the file already. True when it wrote them.
    static func writeArchiveStamp(workspace: String) throws -> Bool {
        guard !carriesArchivePlaceholders(workspace) else { return false }
        let file = workspace + "/" + ArchiveStamp.kbuildFile
        try FileOutput.writeAtomically(ArchiveStamp.kbuildTemplate, to: file)
        let attributes = workspace + "/.gitattributes"
        var text = (try? String(contentsOfFile: attributes, encoding: .utf8)) ?? ""
        if !text.split(separator: "\n").contains(where: { $0.hasPrefix(ArchiveStamp.kbuildAttribute) }) {
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
            text += "# git archive fills in the version kbuild reads (kbuild init)\n\(ArchiveStamp.kbuildAttribute)\n"
            try FileOutput.writeAtomically(text, to: attributes)
        }
        return true
    }

    /// True when `git archive` of the workspace already fills a version: Kubernetes' hack/lib/version.sh
    /// placeholders, or kbuild's own file (anything at its name counts: it is the user's).
    public static func carriesArchivePlaceholders(_ workspace: String) -> Bool {
        let kubernetes = workspace + "/" + ArchiveStamp.kubernetesFile
        if let text = try? String(contentsOfFile: kubernetes, encoding: .utf8), text.contains("$Format:%H$") {
            return true
        }
        var info = stat()
        return lstat(workspace + "/" + ArchiveStamp.kbuildFile, &info) == 0
    }

    /// Adds `/_output/` to `.gitignore` when git does not ignore it yet: kbuild's own outputs would
    /// otherwise make the tree dirty and every version `-dirty`. True when it did.
    static func ignoreOutput(workspace: String, runner: any ProcessRunner) async throws -> Bool {
        let check = try await runner.run(Command("git", ["-C", workspace, "check-ignore", "-q", "_output/"]))
        guard check.status == 1 else { return false }  // 0: ignored already; 128: not a git work tree
        let file = workspace + "/.gitignore"
        var text = ""
        // Read beneath the repository: a .gitignore that is a symlink out or a FIFO is refused, not followed.
        if Beneath(workspace).describe(".gitignore") != "does not exist" {
            do {
                text = String(decoding: try Beneath(workspace).read(".gitignore", limit: 16 << 20), as: UTF8.self)
            } catch {
                throw ReleaseError.unsafeInput(path: file, reason: "\(error.reason); allowed: a regular file")
            }
        }
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += "# kbuild's outputs (kbuild init)\n/_output/\n"
        try FileOutput.writeAtomically(text, to: file)
        return true
    }
}
