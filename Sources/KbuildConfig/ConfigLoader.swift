import Foundation
import KbuildCore
import KbuildImage
import KbuildVersion
import Yams

/// Reads `release/kbuild.yaml` into a `ReleaseConfig`, validating everything against the workspace.
public enum ConfigLoader {
    /// Loads and validates `file`; relative paths in it are resolved against `workspace`,
    /// platforms against `knownPlatforms` (from `go tool dist list`, or `ReleaseConfig.knownPlatforms`).
    public static func load(file: String, workspace: String, knownPlatforms: Set<Platform>) throws -> ReleaseConfig {
        guard FileManager.default.fileExists(atPath: file) else {
            throw ConfigError.unreadable(file: file, reason: "no such file (write one, or pass --config FILE)")
        }
        // Non-blocking and regular files only: a FIFO or a device as --config cannot hang kbuild.
        let data: Data
        do throws(FileKindError) {
            data = try FileKind.readRegularFile(file, limit: 16 << 20)
        } catch {
            throw ConfigError.unreadable(file: file, reason: "\(error.reason); allowed: a regular YAML file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadable(file: file, reason: "not UTF-8 text")
        }
        return try parse(yaml: text, file: file, workspace: workspace, knownPlatforms: knownPlatforms)
    }

    /// Loads `<workspace>/release/kbuild.yaml` against the fallback platform list.
    public static func load(workspace: String) throws -> ReleaseConfig {
        try load(
            file: workspace + "/" + ReleaseConfig.defaultPath, workspace: workspace,
            knownPlatforms: ReleaseConfig.knownPlatforms)
    }

    /// Validates YAML text as if read from `file` (which only names the source in errors).
    public static func parse(yaml: String, file: String, workspace: String, knownPlatforms: Set<Platform>) throws
        -> ReleaseConfig
    {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, file: file, yaml: yaml)
        }
        let reader = ConfigReader(file: file, workspace: workspace, knownPlatforms: knownPlatforms)
        return try reader.read(root)
    }

    /// Yams' own position and problem, as one line.
    private static func syntaxError(_ error: YamlError, file: String, yaml: String) -> ConfigError {
        func invalid(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> ConfigError {
            let context = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return .invalid(
                file: file, line: mark.line, column: mark.column, field: "",
                message: "malformed YAML: \(problem)\(context)")
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            return invalid(mark, problem, context)
        case let .duplicatedKeysInMapping(duplicates, context):
            return .invalid(
                file: file, line: context.mark.line, column: context.mark.column, field: "",
                message: "duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) in one mapping")
        case let .reader(problem, offset, _, _):
            // Count lines up to the byte offset Yams reports.
            let prefix = offset.map { yaml.prefix($0) } ?? ""
            let line = prefix.filter { $0 == "\n" }.count + 1
            let column =
                prefix.count
                - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
            return .invalid(file: file, line: line, column: column, field: "", message: "unreadable YAML: \(problem)")
        default:
            return .invalid(file: file, line: 1, column: 1, field: "", message: "malformed YAML: \(error)")
        }
    }
}

/// Walks the composed YAML tree, keeping node positions for every error.
struct ConfigReader {
    let file: String
    let workspace: String
    let knownPlatforms: Set<Platform>
    let module: GoModule

    init(file: String, workspace: String, knownPlatforms: Set<Platform>) {
        self.file = file
        self.workspace = workspace
        self.knownPlatforms = knownPlatforms
        self.module = GoModule(workspace: workspace)
    }

    static let topKeys = [
        "project", "version", "go", "platforms", "binaries", "images", "addons", "full", "cache", "cgo",
        "archives", "sums", "publish",
    ]

    func read(_ root: Node?) throws -> ReleaseConfig {
        guard let root, !isNull(root) else {
            throw ConfigError.invalid(
                file: file, line: 1, column: 1, field: "",
                message:
                    "the config is empty; it needs at least binaries (allowed keys: \(Self.topKeys.joined(separator: ", ")))"
            )
        }
        let top = try mapping(root, "", allowed: Self.topKeys)

        var project = "kubernetes"
        if let entry = top["project"] {
            project = try string(entry.value, "project")
            guard isSafeFileName(project) else {
                throw fail(
                    entry.value, "project", "\"\(project)\" is not a safe file name; allowed: \(Self.fileNameRule)")
            }
        }

        let version = try readVersion(top["version"], parent: root)
        let go = try readGo(top["go"], owned: version.ownedVariables)
        let platforms = try readPlatforms(top["platforms"])
        guard let binariesEntry = top["binaries"] else {
            throw fail(
                root, "binaries", "required: the list of binaries to build (name, package, kinds, image, static)")
        }
        let binaries = try readBinaries(binariesEntry.value, platforms: platforms)
        let images = try readImages(top["images"])
        let addons = try readAddons(top["addons"])
        let full = try readFull(top["full"])
        let cache = try readCache(top["cache"])
        let cgo = try readCgo(top["cgo"])
        let archives = try readArchives(
            top["archives"], binaries: binaries, platforms: platforms.mapValues(\.platforms))
        let sums = try readSums(top["sums"])

        var config = ReleaseConfig(
            project: project, version: version, go: go, platformsByKind: platforms.mapValues(\.platforms),
            binaries: binaries, images: images, addons: addons, full: full, cache: cache, cgo: cgo,
            archives: archives, sums: sums)
        config.publish = try readPublish(top["publish"])
        return config
    }
}
