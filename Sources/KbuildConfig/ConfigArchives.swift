import Foundation
import KbuildArtifact
import KbuildCore
import Yams

/// `archives:` and `sums:`: a configured release layout, validated with positions like the rest.
extension ConfigReader {
    static let archiveKeys = [
        "name", "binaries", "platforms", "format", "formats", "wrap", "binaryPath", "files", "generated", "checksums",
    ]

    /// The configured archives; nil when the config has none (Kubernetes' layout).
    func readArchives(_ entry: Entry?, binaries: [ReleaseConfig.Binary], platforms: [ReleaseConfig.Kind: [Platform]])
        throws -> [ReleaseConfig.Archive]?
    {
        guard let entry, !isNull(entry.value) else { return nil }
        let items = try sequence(entry.value, "archives", what: "a list of archives (name, binaries, format, …)")
        guard !items.isEmpty else {
            throw fail(
                entry.value, "archives",
                "empty; list at least one archive, or leave archives out for Kubernetes' layout")
        }
        var archives: [ReleaseConfig.Archive] = []
        var names: [String: String] = [:]
        for (index, item) in items.enumerated() {
            let path = "archives[\(index)]"
            let archive = try readArchive(item, path, binaries: binaries, platforms: platforms)
            for name in sampleNames(archive, binaries: binaries, platforms: platforms) {
                if let other = names[name] {
                    throw fail(
                        item, path + ".name",
                        "names \(name) as \(other) does; allowed: one name per archive (add {{os}}, {{arch}} or {{binary}})"
                    )
                }
                names[name] = path
            }
            archives.append(archive)
        }
        return archives
    }

    /// The names an archive gets for every platform (and binary, for binary assets), for the duplicate check.
    private func sampleNames(
        _ archive: ReleaseConfig.Archive, binaries: [ReleaseConfig.Binary], platforms: [ReleaseConfig.Kind: [Platform]]
    ) -> [String] {
        let list = archive.platforms ?? Self.platforms(of: archive.binaries, binaries: binaries, platforms: platforms)
        return list.flatMap { platform in
            let format = archive.format(on: platform.os)
            let values: [NameTemplate.Field: String] = [
                .project: "p", .version: "v0.0.0", .bareVersion: "0.0.0", .os: platform.os, .arch: platform.arch,
            ]
            guard format == .binary else { return [archive.name.render(values) + format.suffix] }
            return archive.binaries.map { binary in
                var values = values
                values[.binary] = binary
                return archive.name.render(values) + (platform.os == "windows" ? ".exe" : "")
            }
        }
    }

    /// Every configured platform of the kinds the binaries ship in, sorted.
    static func platforms(
        of names: [String], binaries: [ReleaseConfig.Binary], platforms: [ReleaseConfig.Kind: [Platform]]
    ) -> [Platform] {
        let kinds = Set(binaries.filter { names.contains($0.name) }.flatMap(\.kinds))
        return Set(kinds.flatMap { platforms[$0] ?? [] }).sorted()
    }

    private func readArchive(
        _ node: Node, _ path: String, binaries: [ReleaseConfig.Binary], platforms: [ReleaseConfig.Kind: [Platform]]
    ) throws -> ReleaseConfig.Archive {
        let fields = try mapping(node, path, allowed: Self.archiveKeys)
        guard let nameEntry = fields["name"] else {
            throw fail(
                node, path + ".name",
                "required: the file name without .tar.gz/.zip, e.g. {{project}}-{{version}}-{{os}}-{{arch}}")
        }
        let chosen =
            try fields["binaries"].map { try readArchiveBinaries($0.value, path + ".binaries", binaries) }
            ?? binaries.map(\.name)
        var format = ArchiveFormat.tarGz
        if let given = fields["format"] { format = try choice(given.value, path + ".format", ArchiveFormat.self) }
        var formatByOS: [String: ArchiveFormat] = [:]
        if let given = fields["formats"] {
            for (key, value) in try mapping(given.value, path + ".formats", allowed: Self.operatingSystems) {
                formatByOS[key] = try choice(value.value, "\(path).formats.\(key)", ArchiveFormat.self)
            }
        }
        let formats = Set([format] + formatByOS.values)
        let single = chosen.count == 1 || formats == [.binary]
        let name = try template(nameEntry.value, path + ".name", allowBinary: single, isPath: false)
        var archive = ReleaseConfig.Archive(
            name: name, binaries: chosen, format: format, formatByOS: formatByOS,
            binaryPath: try fields["binaryPath"].map {
                try template($0.value, path + ".binaryPath", allowBinary: true, isPath: true)
            }
                ?? (try NameTemplate("{{binary}}")))
        if let given = fields["platforms"] {
            let allowed = Self.platforms(of: chosen, binaries: binaries, platforms: platforms)
            archive.platforms = try stringList(given.value, path + ".platforms").map { text, item, itemPath in
                let platform = try self.platform(text, item, itemPath)
                guard allowed.contains(platform) else {
                    throw fail(
                        item, itemPath,
                        "\(platform) is not a configured platform of these binaries' kinds; allowed: \(allowed.map(\.description).joined(separator: ", "))"
                    )
                }
                return platform
            }
        }
        if let given = fields["wrap"], !isNull(given.value) {
            archive.wrap = try template(given.value, path + ".wrap", allowBinary: false, isPath: true)
        }
        if let given = fields["files"] { archive.files = try readArchiveFiles(given.value, path + ".files") }
        if let given = fields["generated"] {
            archive.generated = try readGenerated(given.value, path + ".generated", allowBinary: chosen.count == 1)
        }
        if let given = fields["checksums"] {
            archive.checksums = try stringList(given.value, path + ".checksums").map { _, item, itemPath in
                try choice(item, itemPath, ReleaseConfig.Archive.Checksum.self)
            }
        }
        try checkContents(archive, node: node, path: path, fields: fields)
        return archive
    }

    static let operatingSystems = [
        "aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js", "linux", "netbsd", "openbsd",
        "plan9", "solaris", "windows",
    ]

    /// Binary names or kinds (every binary of that kind), in config order.
    private func readArchiveBinaries(_ node: Node, _ path: String, _ binaries: [ReleaseConfig.Binary]) throws
        -> [String]
    {
        var chosen: Set<String> = []
        for (word, item, itemPath) in try stringList(node, path) {
            if let kind = ReleaseConfig.Kind(rawValue: word) {
                chosen.formUnion(binaries.filter { $0.kinds.contains(kind) }.map(\.name))
            } else if binaries.contains(where: { $0.name == word }) {
                chosen.insert(word)
            } else {
                throw fail(
                    item, itemPath,
                    "unknown binary \"\(word)\"; allowed: the binaries' names (\(binaries.map(\.name).joined(separator: ", "))) or kinds (\(Self.kindList))"
                )
            }
        }
        return binaries.map(\.name).filter(chosen.contains)
    }

    /// A template whose fields exist here, and for paths one that stays inside the archive.
    private func template(_ node: Node, _ path: String, allowBinary: Bool, isPath: Bool) throws -> NameTemplate {
        let text = try string(node, path)
        let parsed: NameTemplate
        do throws(TemplateError) {
            parsed = try NameTemplate(text)
        } catch {
            throw fail(node, path, "\"\(text)\": \(error.problem)")
        }
        if !allowBinary && parsed.fields.contains(.binary) {
            throw fail(
                node, path,
                "\"\(text)\": {{binary}} names one binary, and this holds several; allowed: project, version, bareVersion, os, arch"
            )
        }
        let sample = parsed.render([
            .project: "p", .version: "v1", .bareVersion: "1", .os: "linux", .arch: "amd64", .binary: "b",
        ])
        if sample.isEmpty { throw fail(node, path, "empty; allowed: a name, with {{fields}}") }
        if isPath, let problem = Self.pathProblem(sample) { throw fail(node, path, "\"\(text)\" \(problem)") }
        if !isPath, sample.contains("/") || sample == "." || sample == ".." {
            throw fail(node, path, "\"\(text)\" is not a file name; allowed: no '/'")
        }
        return parsed
    }

    /// Why `path` would leave the archive root, if it would.
    static func pathProblem(_ path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if path.hasPrefix("/") || parts.contains("..") || parts.contains("") || parts.contains(".") {
            return
                "leaves the archive root or is not a clean path; allowed: relative paths like bin/{{binary}}, without '..', '.' or '//'"
        }
        return nil
    }
}

extension ConfigReader {
    /// `files:` items: `PATH` (same name inside), `GLOB` (every match in its directory, same names) or
    /// `{src: PATH, dst: NAME}` (renamed); a directory is carried as a tree.
    func readArchiveFiles(_ node: Node, _ path: String) throws -> [ReleaseConfig.Archive.File] {
        var files: [ReleaseConfig.Archive.File] = []
        for (index, item) in try sequence(node, path, what: "a list of files (PATH or {src, dst})").enumerated() {
            let itemPath = "\(path)[\(index)]"
            var sourceNode = item
            var destination: String?
            if case .mapping = item {
                let fields = try mapping(item, itemPath, allowed: ["src", "dst"])
                guard let src = fields["src"] else {
                    throw fail(item, itemPath + ".src", "required: the workspace path")
                }
                sourceNode = src.value
                if let dst = fields["dst"] {
                    let text = try string(dst.value, itemPath + ".dst")
                    if let problem = Self.pathProblem(text) {
                        throw fail(dst.value, itemPath + ".dst", "\"\(text)\" \(problem)")
                    }
                    destination = text
                }
            }
            let text = try string(sourceNode, itemPath + (destination == nil ? "" : ".src"))
            if Glob.hasWildcard(text) {
                guard destination == nil else {
                    throw fail(sourceNode, itemPath + ".src", "\"\(text)\" is a glob; allowed: dst only for one file")
                }
                files += try globFiles(text, sourceNode, itemPath)
                continue
            }
            let source = try workspacePath(sourceNode, itemPath)
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: workspace + "/" + source, isDirectory: &directory) else {
                throw fail(sourceNode, itemPath, "\(source) does not exist in the workspace")
            }
            files.append(.init(source: source, destination: destination ?? source, isTree: directory.boolValue))
        }
        return files
    }

    /// The files of one workspace directory whose names match the glob's last part (`LICENSE*`).
    private func globFiles(_ pattern: String, _ node: Node, _ path: String) throws -> [ReleaseConfig.Archive.File] {
        let directory = Paths.parent(of: pattern) == pattern ? "" : Paths.parent(of: pattern)
        if Glob.hasWildcard(directory) || directory.hasPrefix("/") || directory.split(separator: "/").contains("..") {
            throw fail(node, path, "\"\(pattern)\": allowed: wildcards in the last part only, inside the workspace")
        }
        let base = directory.isEmpty || directory == "." ? workspace : workspace + "/" + directory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        let last = Paths.name(of: pattern)
        return names.filter { Glob.matches(pattern: last, path: $0) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { name in
                let source = directory.isEmpty || directory == "." ? name : directory + "/" + name
                return .init(source: source, destination: name, isTree: isDirectory(base + "/" + name))
            }
    }

    /// `generated:` items: `{dst: PATH, content: TEMPLATE}`.
    func readGenerated(_ node: Node, _ path: String, allowBinary: Bool) throws -> [ReleaseConfig.Archive.Generated] {
        try sequence(node, path, what: "a list of {dst, content}").enumerated().map { index, item in
            let itemPath = "\(path)[\(index)]"
            let fields = try mapping(item, itemPath, allowed: ["dst", "content"])
            guard let dst = fields["dst"], let content = fields["content"] else {
                throw fail(
                    item, itemPath, "needs dst (the path inside) and content (a template, e.g. \"{{version}}\\n\")")
            }
            let destination = try string(dst.value, itemPath + ".dst")
            if let problem = Self.pathProblem(destination) {
                throw fail(dst.value, itemPath + ".dst", "\"\(destination)\" \(problem)")
            }
            let text = try string(content.value, itemPath + ".content")
            let template: NameTemplate
            do throws(TemplateError) {
                template = try NameTemplate(text)
            } catch {
                throw fail(content.value, itemPath + ".content", error.problem)
            }
            if !allowBinary && template.fields.contains(.binary) {
                throw fail(
                    content.value, itemPath + ".content", "{{binary}} names one binary, and this archive holds several")
            }
            return .init(destination: destination, content: template)
        }
    }

    /// An archive must carry something; a binary asset carries its binary alone.
    func checkContents(_ archive: ReleaseConfig.Archive, node: Node, path: String, fields: [String: Entry]) throws {
        let formats = Set([archive.format] + archive.formatByOS.values)
        if formats.contains(.binary) {
            for key in ["wrap", "files", "generated", "binaryPath"] where fields[key] != nil {
                throw fail(
                    fields[key]!.key, "\(path).\(key)",
                    "a binary asset is the binary alone; allowed with format binary: name, binaries, platforms, checksums"
                )
            }
            guard !archive.binaries.isEmpty else {
                throw fail(node, path, "format binary with no binaries: the archive would be empty")
            }
            return
        }
        guard !archive.binaries.isEmpty || !archive.files.isEmpty || !archive.generated.isEmpty else {
            throw fail(
                node, path, "the archive would be empty; allowed: binaries, files or generated with at least one item")
        }
        if archive.binaries.count > 1 && !archive.binaryPath.fields.contains(.binary) {
            throw fail(
                fields["binaryPath"]?.value ?? node, path + ".binaryPath",
                "\"\(archive.binaryPath)\" puts every binary at one path; allowed: a path with {{binary}}")
        }
        if let clash = Self.clashingPath(archive) {
            throw fail(node, path, "two entries would be at \(clash); allowed: one file per path inside the archive")
        }
    }
}

extension ConfigReader {
    /// The first path inside the archive that two of its binaries, files or generated files would share.
    static func clashingPath(_ archive: ReleaseConfig.Archive) -> String? {
        var seen: Set<String> = []
        let paths =
            archive.binaries.map { archive.binaryPath.render([.binary: $0, .os: "linux", .arch: "amd64"]) }
            + archive.files.map(\.destination) + archive.generated.map(\.destination)
        for path in paths where !seen.insert(path).inserted { return path }
        return nil
    }

    /// `sums: {sha256: NAME, sha512: NAME}`: the sums files written (absent: SHA256SUMS and SHA512SUMS).
    func readSums(_ entry: Entry?) throws -> ReleaseConfig.Sums {
        guard let entry else { return ReleaseConfig.Sums() }
        let fields = try mapping(entry.value, "sums", allowed: ["sha256", "sha512"])
        var sums = ReleaseConfig.Sums(sha256: nil, sha512: nil)
        for key in ["sha256", "sha512"] {
            guard let given = fields[key] else { continue }
            let name = try string(given.value, "sums.\(key)")
            guard isSafeFileName(name) else {
                throw fail(
                    given.value, "sums.\(key)", "\"\(name)\" is not a safe file name; allowed: \(Self.fileNameRule)")
            }
            if key == "sha256" { sums.sha256 = name } else { sums.sha512 = name }
        }
        guard sums.sha256 != nil else {
            throw fail(entry.value, "sums.sha256", "required: the provenance and the signature cover the sha256 sums")
        }
        return sums
    }
}
