import Foundation
import KbuildArtifact
import KbuildCore
import KbuildImage
import KbuildVersion
import Yams

/// The sections of the release config, each read and validated with its positions.
extension ConfigReader {
    func readVersion(_ entry: Entry?, parent: Node) throws -> ReleaseConfig.VersionSettings {
        let fields =
            try entry.map {
                try mapping($0.value, "version", allowed: ["package", "baseFile", "style", "variables"])
            } ?? [:]
        let anchor = entry?.key ?? parent

        var package: String?
        var packageNode = anchor
        if let given = fields["package"] {
            package = try string(given.value, "version.package")
            packageNode = given.value
        } else if let modulePath = module.path {
            package = modulePath + "/pkg/version"
        }
        // With explicit variables the package is only a prefix for short names: check it when used.
        let stamp = try fields["variables"].map {
            try readVariables($0.value, package: package, packageNode: packageNode)
        }
        if stamp == nil || fields["package"] != nil {
            guard let package else {
                throw fail(
                    anchor, "version.package",
                    "required: the workspace has no go.mod module to default <module>/pkg/version from")
            }
            if let problem = module.problem(package: package, requireMain: false) {
                throw fail(packageNode, "version.package", problem + " (the -X version ldflags would stamp nothing)")
            }
        }

        var baseFile = ReleaseConfig.VersionSettings.defaultBaseFile
        if let given = fields["baseFile"] {
            baseFile = try workspacePath(given.value, "version.baseFile")
            guard isFile(workspace + "/" + baseFile) else {
                throw fail(given.value, "version.baseFile", "file \(baseFile) does not exist in the workspace")
            }
        }

        var style = VersionStyle.semver
        if let given = fields["style"] { style = try choice(given.value, "version.style", VersionStyle.self) }
        return ReleaseConfig.VersionSettings(
            package: package ?? "", baseFile: baseFile, style: style, stamp: stamp)
    }

    func readGo(_ entry: Entry?, owned: [String]) throws -> ReleaseConfig.Go {
        let fields =
            try entry.map { try mapping($0.value, "go", allowed: ["version", "mod", "tags", "ldflags"]) } ?? [:]
        var go = ReleaseConfig.Go()
        if let given = fields["version"], !isNull(given.value) {
            var text = try string(given.value, "go.version")
            if text.hasPrefix("go") { text.removeFirst(2) }
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard (2...3).contains(parts.count),
                parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
            else {
                throw fail(
                    given.value, "go.version",
                    "\"\(text)\" is not a Go version; allowed: MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. \"1.19\" (quote it)"
                )
            }
            go.version = text
        }
        let hasVendor = isFile(workspace + "/vendor/modules.txt")
        // Go 1.19 takes only -mod=readonly in workspace mode (go.work).
        go.mod = module.isWorkspaceMode ? .readonly : hasVendor ? .vendor : .mod
        if let given = fields["mod"] {
            go.mod = try choice(given.value, "go.mod", ReleaseConfig.ModMode.self)
            if module.isWorkspaceMode && go.mod != .readonly {
                throw fail(
                    given.value, "go.mod",
                    "\(go.mod.rawValue) is not possible with go.work (Go builds in workspace mode); allowed: readonly")
            }
            if go.mod == .vendor && !hasVendor {
                throw fail(
                    given.value, "go.mod",
                    "vendor needs vendor/modules.txt in the workspace (run go mod vendor); allowed: mod, vendor, readonly"
                )
            }
        }
        if let given = fields["tags"] {
            go.tags = try stringList(given.value, "go.tags").map { tag, node, path in
                let ok =
                    !tag.isEmpty
                    && tag.unicodeScalars.allSatisfy {
                        $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == ".")
                    }
                guard ok else {
                    throw fail(node, path, "\"\(tag)\" is not a build tag; allowed: letters, digits, '_' and '.'")
                }
                return tag
            }
        }
        if let given = fields["ldflags"] {
            let items = try stringList(given.value, "go.ldflags")
            if let bad = LDFlagsValidation.firstOwnedAssignment(in: items.map(\.0), owned: owned) {
                let (word, node, path) = items[bad.item]
                throw fail(
                    node, path,
                    "\"\(word)\" sets \(bad.variable), which kbuild stamps from the release version; allowed: -X for other variables (the version comes from a v* tag, KUBE_GIT_VERSION or KUBE_GIT_VERSION_FILE)"
                )
            }
            go.ldflags = try items.map { word, node, path in
                guard !word.isEmpty, !word.contains(where: \.isWhitespace) else {
                    throw fail(
                        node, path, "\"\(word)\" must be one non-empty word without spaces; list each word separately")
                }
                return word
            }
        }
        return go
    }

    struct KindPlatforms {
        var platforms: [Platform]
        var node: Node?
    }

    func readPlatforms(_ entry: Entry?) throws -> [ReleaseConfig.Kind: KindPlatforms] {
        var result = ReleaseConfig.defaultPlatforms.mapValues { KindPlatforms(platforms: $0, node: nil) }
        guard let entry else { return result }
        let kinds = ReleaseConfig.Kind.allCases.map(\.rawValue)
        let fields = try mapping(entry.value, "platforms", allowed: kinds)
        for kind in ReleaseConfig.Kind.allCases {
            guard let given = fields[kind.rawValue] else { continue }
            var seen = Set<Platform>()
            for (text, node, path) in try stringList(given.value, "platforms.\(kind.rawValue)") {
                let platform = try self.platform(text, node, path)
                guard seen.insert(platform).inserted else {
                    throw fail(node, path, "platform \(platform) is listed twice")
                }
            }
            result[kind] = KindPlatforms(platforms: seen.sorted(), node: given.value)
        }
        return result
    }

    func readBinaries(_ value: Node, platforms: [ReleaseConfig.Kind: KindPlatforms]) throws -> [ReleaseConfig.Binary] {
        let items = try sequence(value, "binaries", what: "a list of binaries")
        guard !items.isEmpty else {
            throw fail(value, "binaries", "the list is empty; the release needs at least one binary")
        }
        var result: [ReleaseConfig.Binary] = []
        var firstLine: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "binaries[\(index)]"
            let fields = try mapping(item, path, allowed: ["name", "package", "kinds", "image", "static"])
            guard let nameEntry = fields["name"] else {
                throw fail(item, "\(path).name", "required: the binary's file name")
            }
            let name = try string(nameEntry.value, "\(path).name")
            guard isSafeFileName(name) else {
                throw fail(
                    nameEntry.value, "\(path).name",
                    "\"\(name)\" is not a safe file name; allowed: \(Self.fileNameRule)")
            }
            if let line = firstLine[name] {
                throw fail(
                    nameEntry.value, "\(path).name",
                    "duplicate binary name \"\(name)\" (first defined at line \(line)); names must be unique")
            }
            firstLine[name] = nameEntry.value.mark?.line ?? 0

            var package = "./cmd/\(name)"
            var packageNode = nameEntry.value
            if let given = fields["package"] {
                package = try string(given.value, "\(path).package")
                packageNode = given.value
            }
            if let problem = module.problem(package: package, requireMain: true) {
                throw fail(packageNode, "\(path).package", "binary \(name): " + problem)
            }
            let kinds = try readKinds(fields["kinds"], item: item, path: path, name: name, platforms: platforms)
            var isStatic = true
            if let given = fields["static"] { isStatic = try bool(given.value, "\(path).static") }
            let image = try fields["image"].map {
                try readImageFlag($0.value, path: path, name: name, kinds: kinds, platforms: platforms)
            }
            result.append(
                ReleaseConfig.Binary(
                    name: name, package: package, kinds: kinds, isStatic: isStatic, image: image ?? false))
        }
        return result
    }

    /// `binaries[].kinds`: required, known, each once, each with platforms.
    private func readKinds(
        _ entry: Entry?, item: Node, path: String, name: String, platforms: [ReleaseConfig.Kind: KindPlatforms]
    ) throws -> Set<ReleaseConfig.Kind> {
        guard let kindsEntry = entry else {
            throw fail(item, "\(path).kinds", "required for binary \(name); allowed: \(Self.kindList)")
        }
        let kindItems = try stringList(kindsEntry.value, "\(path).kinds")
        guard !kindItems.isEmpty else {
            throw fail(kindsEntry.value, "\(path).kinds", "binary \(name) ships in no kind; allowed: \(Self.kindList)")
        }
        var kinds = Set<ReleaseConfig.Kind>()
        for (text, node, kindPath) in kindItems {
            guard let kind = ReleaseConfig.Kind(rawValue: text) else {
                throw fail(node, kindPath, "unknown kind \"\(text)\" for binary \(name); allowed: \(Self.kindList)")
            }
            guard kinds.insert(kind).inserted else {
                throw fail(node, kindPath, "kind \(kind.rawValue) is listed twice")
            }
            if platforms[kind]?.platforms.isEmpty ?? true {
                throw fail(
                    node, kindPath,
                    "binary \(name) ships in \(kind.rawValue) but platforms.\(kind.rawValue) is empty; add platforms or drop the kind"
                )
            }
        }
        return kinds
    }

    /// `binaries[].image`: true only for a server binary with a linux server platform and an image-safe name.
    private func readImageFlag(
        _ node: Node, path: String, name: String, kinds: Set<ReleaseConfig.Kind>,
        platforms: [ReleaseConfig.Kind: KindPlatforms]
    ) throws -> Bool {
        let image = try bool(node, "\(path).image")
        guard image else { return false }
        guard kinds.contains(.server) else {
            throw fail(
                node, "\(path).image",
                "binary \(name) has an image but is not a server binary (kinds: \(kinds.sorted().map(\.rawValue).joined(separator: ", "))); images ship in server tarballs: add server to kinds or set image: false"
            )
        }
        guard platforms[.server]?.platforms.contains(where: { $0.os == "linux" }) ?? false else {
            throw fail(
                node, "\(path).image",
                "binary \(name) has an image but platforms.server has no linux platform; images are linux only")
        }
        guard ImageName.isPathComponent(name) else {
            throw fail(
                node, "\(path).image",
                "binary \(name) cannot name an image; image names allow lowercase a-z, 0-9 joined by '.', '_', '__' or '-'"
            )
        }
        return true
    }

    func readImages(_ entry: Entry?) throws -> ReleaseConfig.Images {
        let fields =
            try entry.map {
                try mapping(
                    $0.value, "images",
                    allowed: ["registry", "tagScheme", "archSuffix", "legacyAmd64Name", "base", "name"])
            } ?? [:]
        var images = ReleaseConfig.Images()
        if let given = fields["registry"] {
            let registry = try string(given.value, "images.registry")
            if let problem = ImageName.registryProblem(registry) {
                throw fail(given.value, "images.registry", "\"\(registry)\": \(problem)")
            }
            images.registry = registry
        }
        if let given = fields["tagScheme"] {
            images.tagScheme = try choice(given.value, "images.tagScheme", ReleaseConfig.TagScheme.self)
        }
        if let given = fields["archSuffix"] { images.archSuffix = try bool(given.value, "images.archSuffix") }
        if let given = fields["name"], !isNull(given.value) { images.name = try imageName(given.value) }
        if let given = fields["legacyAmd64Name"] {
            images.legacyAmd64Name = try bool(given.value, "images.legacyAmd64Name")
            if images.legacyAmd64Name && !images.archSuffix {
                throw fail(
                    given.value, "images.legacyAmd64Name",
                    "true needs archSuffix: true (without the suffix every name is already archless)")
            }
        }
        if let given = fields["base"], !isNull(given.value) {
            let base = try string(given.value, "images.base")
            if base != "scratch" {
                guard !base.isEmpty else {
                    throw fail(
                        given.value, "images.base",
                        "empty; allowed: scratch or the path of a docker-archive / OCI-layout tarball")
                }
                let absolute = Paths.absolute(base, relativeTo: workspace)
                guard isFile(absolute) else {
                    throw fail(
                        given.value, "images.base",
                        "base image file \(base) does not exist; allowed: scratch or the path of a docker-archive / OCI-layout tarball (relative to the workspace)"
                    )
                }
                images.base = absolute
            }
        }
        return images
    }

    /// `images.name`: a template of the repository under the registry; the sample name must be a valid one.
    private func imageName(_ node: Node) throws -> NameTemplate {
        let text = try string(node, "images.name")
        let template: NameTemplate
        do throws(TemplateError) {
            template = try NameTemplate(text)
        } catch {
            throw fail(node, "images.name", "\"\(text)\": \(error.problem)")
        }
        let sample = template.render([
            .project: "p", .version: "v1.2.3", .bareVersion: "1.2.3", .os: "linux", .arch: "amd64", .binary: "b",
        ])
        guard template.fields.contains(.binary), ImageName.registryProblem("r/" + sample) == nil else {
            throw fail(
                node, "images.name",
                "\"\(text)\" is not an image repository for each binary; allowed: lowercase path components with {{binary}}, e.g. {{project}}-{{binary}}"
            )
        }
        return template
    }

    func readAddons(_ entry: Entry?) throws -> ReleaseConfig.Addons {
        let fields = try entry.map { try mapping($0.value, "addons", allowed: ["dirs", "exclude"]) } ?? [:]
        var addons = ReleaseConfig.Addons()
        if let given = fields["dirs"] {
            addons.dirs = try stringList(given.value, "addons.dirs").map { _, node, path in
                let dir = try workspacePath(node, path)
                guard isDirectory(workspace + "/" + dir) else {
                    throw fail(node, path, "add-on directory \(dir) does not exist in the workspace")
                }
                return dir
            }
        } else if isDirectory(workspace + "/cluster/addons") {
            addons.dirs = ["cluster/addons"]
        }
        if let given = fields["exclude"] {
            addons.exclude = try stringList(given.value, "addons.exclude").map { pattern, node, path in
                guard !pattern.isEmpty, !pattern.hasPrefix("/") else {
                    throw fail(
                        node, path,
                        "\"\(pattern)\" is not a workspace-relative glob; allowed: patterns like **/demo/** or **/*-test.yaml"
                    )
                }
                return pattern
            }
        }
        return addons
    }

    func readFull(_ entry: Entry?) throws -> ReleaseConfig.Full {
        let fields = try entry.map { try mapping($0.value, "full", allowed: ["include"]) } ?? [:]
        var full = ReleaseConfig.Full()
        if let given = fields["include"] {
            full.include = try stringList(given.value, "full.include").map { _, node, path in
                let relative = try workspacePath(node, path)
                guard FileManager.default.fileExists(atPath: workspace + "/" + relative) else {
                    throw fail(node, path, "\(relative) does not exist in the workspace")
                }
                return relative
            }
        } else if isDirectory(workspace + "/cluster") {
            full.include = ["cluster"]
        }
        return full
    }
}
