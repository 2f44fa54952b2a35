import Foundation
import KbuildCore

/// The names a project's own build gives its binaries, read from its Makefile and `hack/` scripts:
/// a line that builds `cmd/<dir>` with `-o <somewhere>/<name>` names that package's binary `<name>`
/// (`go build -o bin/$(PROJECT)-scheduler ./cmd/scheduler`, with `PROJECT := arbiter` in the same file).
/// A guess read from a script costs less than a silent one: `kbuild init` says where each name came from.
struct ProjectBinaryNames: Sendable {
    /// `./cmd/<dir>` → the name and where it was read (`Makefile:12`).
    var names: [String: (name: String, source: String)] = [:]
    /// Every file read, workspace-relative.
    var read: [String] = []

    /// Files looked at: the Makefiles at the top and shell scripts under `hack/` (two levels), each read
    /// as a regular file of at most 1 MiB, at most 200 of them.
    static func scan(workspace: String) -> ProjectBinaryNames {
        var result = ProjectBinaryNames()
        for file in candidates(workspace) {
            guard let data = try? FileKind.readRegularFile(workspace + "/" + file, limit: 1 << 20) else { continue }
            result.read.append(file)
            result.scan(String(decoding: data, as: UTF8.self), file: file)
        }
        return result
    }

    static func candidates(_ workspace: String) -> [String] {
        var files = ["Makefile", "makefile", "GNUmakefile"].filter {
            FileManager.default.fileExists(atPath: workspace + "/" + $0)
        }
        var directories = ["hack"]
        while let directory = directories.first, files.count < 200 {
            directories.removeFirst()
            let names = (try? FileManager.default.contentsOfDirectory(atPath: workspace + "/" + directory)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let path = directory + "/" + name
                var info = stat()
                guard lstat(workspace + "/" + path, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR, directory.split(separator: "/").count < 2 {
                    directories.append(path)
                } else if info.st_mode & S_IFMT == S_IFREG, name.hasSuffix(".sh") || name.hasSuffix(".mk") {
                    files.append(path)
                }
            }
        }
        return Array(files.prefix(200))
    }

    /// Reads one file: its simple assignments (`X := v`, `X ?= v`, `X = v`, `X="v"`) and its `-o` lines.
    mutating func scan(_ text: String, file: String) {
        var variables: [String: String] = [:]
        var lineNumber = 0
        var pending = ""
        var startLine = 1
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if pending.isEmpty { startLine = lineNumber }
            if raw.hasSuffix("\\") {
                pending += raw.dropLast() + " "
                continue
            }
            let line = pending + raw
            pending = ""
            if let (name, value) = Self.assignment(line) {
                variables[name] = value
                continue
            }
            guard let (output, package) = Self.buildLine(line) else { continue }
            let name = Self.expand(Paths.name(of: output), variables)
            guard let name, Self.isBinaryName(name), names[package] == nil else { continue }
            names[package] = (name, "\(file):\(startLine)")
        }
    }

    /// `NAME := value` and its kin; nil for anything else.
    static func assignment(_ line: String) -> (String, String)? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        for operator_ in [":=", "?=", "="] {
            guard let range = trimmed.range(of: operator_) else { continue }
            let name = trimmed[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                .replacingOccurrences(of: "export ", with: "").replacingOccurrences(of: "readonly ", with: "")
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                return nil
            }
            let value = trimmed[range.upperBound...].trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            return (name, value)
        }
        return nil
    }

    /// The `-o` argument and the `./cmd/<dir>` package of a build line; nil when it lacks either.
    static func buildLine(_ line: String) -> (output: String, package: String)? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        guard let flag = words.firstIndex(of: "-o"), flag + 1 < words.count else { return nil }
        for word in words[(flag + 2)...] {
            var path = Substring(word)
            for suffix in ["/...", "/main.go", "/*.go", "/"] where path.hasSuffix(suffix) {
                path = path.dropLast(suffix.count)
            }
            if path.hasPrefix("./") { path = path.dropFirst(2) }
            let parts = path.split(separator: "/")
            guard parts.count == 2, parts[0] == "cmd", !parts[1].contains("$") else { continue }
            return (words[flag + 1], "./cmd/" + parts[1])
        }
        return nil
    }

    /// `text` with `$(X)`, `${X}` and `$X` replaced from `variables`; nil when one is unknown.
    static func expand(_ text: String, _ variables: [String: String]) -> String? {
        var result = text
        for (name, value) in variables {
            for form in ["$(\(name))", "${\(name)}"] { result = result.replacingOccurrences(of: form, with: value) }
        }
        if let dollar = result.firstIndex(of: "$") {
            let rest = result[result.index(after: dollar)...]
            let name = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            guard let value = variables[String(name)], !name.isEmpty else { return nil }
            result.replaceSubrange(dollar..<rest.index(rest.startIndex, offsetBy: name.count), with: value)
        }
        return result.contains("$") ? nil : result
    }

    static func isBinaryName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.first != "." && name.first != "-"
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }
}
