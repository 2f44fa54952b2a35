import Foundation

/// The workspace's Go module (and, with a `go.work`, every module it uses), enough to map import paths to
/// directories without running Go.
public struct GoModule {
    let workspace: String
    /// The `module` path from `<workspace>/go.mod`, nil without one.
    let path: String?
    /// With `<workspace>/go.work`: each used module's path and its workspace-relative directory
    /// (`""` for the root), longest path first so nested modules win.
    let workModules: [(path: String, directory: String)]

    init(workspace: String) {
        self.workspace = workspace
        self.path = (try? String(contentsOfFile: workspace + "/go.mod", encoding: .utf8)).flatMap(Self.modulePath)
        self.workModules = Self.usedModules(workspace).sorted { $0.path.count > $1.path.count }
    }

    /// The module paths of go.work's `use` directories, in go.work's order (none without a go.work).
    public static func workModulePaths(workspace: String) -> [String] {
        usedModules(workspace).map(\.path)
    }

    /// Each module go.work uses: its path (from its go.mod) and its workspace-relative directory.
    static func usedModules(_ workspace: String) -> [(path: String, directory: String)] {
        guard let work = try? String(contentsOfFile: workspace + "/go.work", encoding: .utf8) else { return [] }
        return usedDirectories(work).compactMap { directory in
            let file = (directory.isEmpty ? workspace : workspace + "/" + directory) + "/go.mod"
            return (try? String(contentsOfFile: file, encoding: .utf8)).flatMap(modulePath).map { ($0, directory) }
        }
    }

    /// True when the workspace is a `go.work` workspace (Go builds in workspace mode there).
    var isWorkspaceMode: Bool { FileManager.default.fileExists(atPath: workspace + "/go.work") }

    /// The workspace-relative directories of go.work's `use` directives (single and block form),
    /// normalized; ones leaving the workspace are left out.
    static func usedDirectories(_ goWork: String) -> [String] {
        var result: [String] = []
        var inBlock = false
        for rawLine in goWork.split(whereSeparator: \.isNewline) {
            var line = Substring(rawLine)
            if let comment = line.range(of: "//") { line = line[..<comment.lowerBound] }
            var words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            if inBlock {
                if words == [")"] {
                    inBlock = false
                    continue
                }
            } else {
                guard words.first == "use" else { continue }
                words.removeFirst()
                if words == ["("] {
                    inBlock = true
                    continue
                }
            }
            guard words.count == 1 else { continue }
            let parts = words[0].trimmingCharacters(in: CharacterSet(charactersIn: "\"`")).split(separator: "/")
                .filter { $0 != "." }
            guard !parts.contains(".."), !words[0].hasPrefix("/") else { continue }
            result.append(parts.joined(separator: "/"))
        }
        return result
    }

    /// The `module` directive of go.mod text.
    static func modulePath(_ goMod: String) -> String? { directive("module", in: goMod) }

    /// The single-word argument of a go.mod `directive` (`module`, `go`), quotes removed.
    public static func directive(_ directive: String, in text: String) -> String? {
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = Substring(rawLine)
            if let comment = line.range(of: "//") { line = line[..<comment.lowerBound] }
            let words = line.split(whereSeparator: \.isWhitespace)
            if words.count == 2, words[0] == directive {
                return String(words[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\"`"))
            }
        }
        return nil
    }

    /// Why `package` is not a buildable package of this workspace, or nil when it is.
    /// `./dir` is relative to the workspace; `<module>/dir` uses go.mod; other paths must be vendored.
    func problem(package: String, requireMain: Bool) -> String? {
        if package.isEmpty { return "the package is empty" }
        if package.contains("...") { return "\"\(package)\" is a pattern; name exactly one package" }
        if package.hasPrefix("/") { return "\"\(package)\" is absolute; allowed: ./relative/dir or an import path" }
        let isRelative = package == "." || package.hasPrefix("./") || package.hasPrefix("../")
        // An import path never has . or .. elements; letting one through would read outside the workspace.
        if !isRelative, package.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
            return "\"\(package)\" has a . or .. element; allowed: ./relative/dir or an import path"
        }

        let relative: String
        if isRelative {
            var parts: [Substring] = []
            for part in package.split(separator: "/") where part != "." {
                if part == ".." {
                    guard !parts.isEmpty else { return "\"\(package)\" leaves the workspace" }
                    parts.removeLast()
                } else {
                    parts.append(part)
                }
            }
            relative = parts.joined(separator: "/")
        } else if let module = workModules.first(where: { package == $0.path || package.hasPrefix($0.path + "/") }) {
            let inside = String(package.dropFirst(module.path.count)).trimmingCharacters(
                in: CharacterSet(charactersIn: "/"))
            relative = [module.directory, inside].filter { !$0.isEmpty }.joined(separator: "/")
        } else if let path, package == path || package.hasPrefix(path + "/") {
            relative = String(package.dropFirst(path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        } else if isDirectory("vendor/" + package) {
            relative = "vendor/" + package
        } else if let path {
            return
                "\"\(package)\" is neither in module \(path) (go.mod) nor in vendor/; allowed: ./relative/dir or \(path)/…"
        } else {
            return "\"\(package)\" needs a go.mod module to resolve (the workspace has none); allowed: ./relative/dir"
        }

        let shown = relative.isEmpty ? "." : relative
        guard isDirectory(relative) else {
            return "package \(package): directory \(shown) does not exist in the workspace"
        }
        let directory = relative.isEmpty ? workspace : workspace + "/" + relative
        let sources = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".go") && !$0.hasSuffix("_test.go") }
        guard !sources.isEmpty else { return "package \(package): directory \(shown) has no .go files" }
        if requireMain {
            let isMain = sources.contains { name in
                guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                    return false
                }
                return text.split(whereSeparator: \.isNewline).contains { line in
                    let words = line.split(whereSeparator: \.isWhitespace)
                    return words.count >= 2 && words[0] == "package" && words[1] == "main"
                }
            }
            guard isMain else { return "package \(package) is not a main package (no `package main` in \(shown))" }
        }
        return nil
    }

    private func isDirectory(_ relative: String) -> Bool {
        var directory: ObjCBool = false
        let full = relative.isEmpty ? workspace : workspace + "/" + relative
        return FileManager.default.fileExists(atPath: full, isDirectory: &directory) && directory.boolValue
    }
}
