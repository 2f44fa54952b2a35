import Foundation
import KbuildCore
import KbuildDigest
import KbuildVersion

/// Asks Go whether every variable of a `VersionStamp` exists and is a string variable: `go list` finds each
/// package's files as the build would select them, and a small Go program (go/parser) reads their declarations.
/// `-X` on a missing or non-string variable is silently ignored by the linker: this turns that into an error.
public struct VersionVariableCheck: Sendable {
    public var toolchain: GoToolchain
    /// The module root and the hermetic settings (`GOFLAGS=-mod=…`, tags) of the build.
    public var settings: GoBuildSettings
    public var runner: any ProcessRunner

    public init(toolchain: GoToolchain, settings: GoBuildSettings, runner: any ProcessRunner = SubprocessRunner()) {
        self.toolchain = toolchain
        self.settings = settings
        self.runner = runner
    }

    /// Throws `GoBuildError.versionVariable` for the first variable that would stamp nothing.
    /// `mainPackages` are the binaries' packages, where `main.X` variables live. A recorded success under
    /// `cacheDirectory` is reused while the files it read are unchanged (no Go process then).
    public func verify(_ stamp: VersionStamp, mainPackages: [String], cacheDirectory: String) async throws {
        let key = try cacheKey(stamp, mainPackages)
        let record = cacheDirectory + "/version-variables/" + key + ".txt"
        if let text = try? String(contentsOfFile: record, encoding: .utf8), Self.unchanged(text) { return }

        var read: [String] = []
        for package in stamp.packages {
            let wanted = stamp.assignments.filter { $0.package == package }
            let listed = package == "main" ? mainPackages : [package]
            var found: [String: String] = [:]
            for listedPackage in listed {
                let (directory, files) = try await list(listedPackage)
                read.append(directory)
                read += files.map { directory + "/" + $0 }
                let kinds = try await probe(directory: directory, files: files, names: wanted.map(\.variable))
                for (name, kind) in kinds where found[name] != "string" { found[name] = kind }
            }
            for assignment in wanted {
                let kind = found[assignment.variable] ?? "missing"
                guard kind == "string" else {
                    throw GoBuildError.versionVariable(
                        target: assignment.target, field: assignment.field.rawValue,
                        problem: kind == "missing" ? "no such package-level variable" : "it is \(kind)")
                }
            }
        }
        let lines = read.map { path in "\(path)\t\(Self.signature(path))" }
        try? FileManager.default.createDirectory(
            atPath: Paths.parent(of: record), withIntermediateDirectories: true)
        try? FileOutput.writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: record, durable: false)
    }

    /// What a recorded check depends on beyond the files it read (the record holds their signatures).
    private struct CheckInputs: Encodable {
        var goVersion: String
        var workspace: String
        var mod: GoModMode
        var tags: [String]
        var stamp: VersionStamp
        var mainPackages: [String]
    }

    /// The sha256 of the canonical JSON of the check's inputs.
    func cacheKey(_ stamp: VersionStamp, _ mainPackages: [String]) throws -> String {
        try CanonicalJSON.sha256(
            CheckInputs(
                goVersion: toolchain.version, workspace: settings.workspace, mod: settings.modMode,
                tags: settings.tags, stamp: stamp, mainPackages: mainPackages))
    }

    /// True when every path of a record still has its recorded signature (a directory's changes when files come or go).
    static func unchanged(_ record: String) -> Bool {
        record.split(separator: "\n").allSatisfy { line in
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            return parts.count == 2 && signature(parts[0]) == parts[1]
        }
    }

    static func signature(_ path: String) -> String { FileSignature(of: path)?.line ?? "gone" }

    /// The hermetic environment of the build, for the host platform.
    var environment: [String: String] {
        GoBuilder(toolchain: toolchain, settings: settings, runner: runner)
            .environment(for: .host, isStatic: true)
    }

    /// `go list` of one package: its directory and the non-test Go files the build would compile.
    func list(_ package: String) async throws -> (String, [String]) {
        var arguments = ["list", "-e", "-f", "{{.Dir}}\t{{join .GoFiles \" \"}}\t{{with .Error}}{{.Err}}{{end}}\tend"]
        if !settings.tags.isEmpty { arguments += ["-tags", settings.tags.joined(separator: ",")] }
        let command = Command(
            toolchain.executable, arguments + [package], environment: .exact(environment),
            workingDirectory: settings.workspace)
        try prepareState()
        let output = try await GoToolchain.query(runner, command)
        let fields = output.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        // The trailing "end" keeps the empty error field from being trimmed away.
        guard fields.count == 4, fields[2].isEmpty, !fields[0].isEmpty, !fields[1].isEmpty else {
            let reason = fields.count == 4 && !fields[2].isEmpty ? fields[2] : "no Go files"
            throw GoBuildError.versionVariable(target: package, field: "", problem: "go list: \(reason)")
        }
        return (fields[0], fields[1].split(separator: " ").map(String.init))
    }

    /// Runs the declaration probe over `files` of `directory`: for each of `names` declared there, "string"
    /// or a description of what it is instead.
    public func probe(directory: String, files: [String], names: [String]) async throws -> [String: String] {
        let probe = try await probeExecutable()
        let command = Command(
            probe, [directory] + files + ["--"] + names, environment: .exact(["PATH": "/usr/bin:/bin", "LANG": "C"]))
        let result = try await runner.run(command)
        guard result.succeeded else {
            throw GoBuildError.toolchainFailed(
                command: command.description, detail: SubprocessRunner.tail(result.stderr))
        }
        var kinds: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            if parts.count == 2 { kinds[parts[0]] = parts[1] }
        }
        return kinds
    }

    func prepareState() throws {
        let state = settings.goState
        for directory in [
            "\(state)/home", "\(state)/gopath/pkg/mod", "\(state)/tmp", settings.goCache ?? "\(state)/cache",
        ] {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// How the probe is compiled into an empty Go cache at the least cost. Go ≤ 1.19 ships the standard
    /// library precompiled under `GOROOT/pkg/<os>_<arch>`, which only a plain build reuses (any `-trimpath`
    /// or `-gcflags` compiles all of it again: 10 s on 2 cores, before the release's build can start);
    /// without it, the release's own flags let the host build reuse what the probe compiled.
    var probeFlags: [String] {
        let host = Platform.host
        let precompiled = "\(toolchain.goroot)/pkg/\(host.os)_\(host.arch)/runtime.a"
        return FileManager.default.fileExists(atPath: precompiled) ? [] : GoBuilder.compileFlags
    }

    /// The probe, built once per toolchain and probe source into `<goState>/probe`.
    func probeExecutable() async throws -> String {
        var hasher = Digest.Hasher(.sha256)
        hasher.update(Data((toolchain.version + "\n" + Self.probeSource).utf8))
        let tag = String(hasher.finalize().hex.prefix(16))
        let directory = settings.goState + "/probe/" + tag
        let executable = directory + "/kbuild-version-probe"
        if FileManager.default.isExecutableFile(atPath: executable) { return executable }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileOutput.writeAtomically(Data(Self.probeSource.utf8), to: directory + "/main.go", durable: false)
        try FileOutput.writeAtomically(
            Data("module kbuild.local/probe\n\ngo 1.18\n".utf8), to: directory + "/go.mod", durable: false)
        var environment = self.environment
        environment["GOFLAGS"] = "-mod=mod"
        environment["GOWORK"] = "off"  // the probe's directory lies under the workspace and its go.work
        let temporary = FileOutput.temporarySibling(of: executable)
        defer { unlink(temporary) }
        _ = try await GoToolchain.query(
            runner,
            Command(
                toolchain.executable, ["build", "-o", temporary] + probeFlags + ["."],
                environment: .exact(environment), workingDirectory: directory))
        guard rename(temporary, executable) == 0 else {
            throw GoBuildError.outputFailed(path: executable, reason: String(cString: strerror(errno)))
        }
        return executable
    }

    /// Reads package-level declarations with go/parser: only the standard library, no type checking of imports.
    static let probeSource = """
        package main

        import (
        \t"fmt"
        \t"go/ast"
        \t"go/parser"
        \t"go/token"
        \t"go/types"
        \t"os"
        \t"path/filepath"
        )

        // usage: probe DIR FILE... -- NAME...; prints NAME<TAB>string, or what NAME is instead.
        func main() {
        \tdir, args := os.Args[1], os.Args[2:]
        \tvar files, names []string
        \tfor i, a := range args {
        \t\tif a == "--" {
        \t\t\tfiles, names = args[:i], args[i+1:]
        \t\t}
        \t}
        \tkinds := map[string]string{}
        \tfset := token.NewFileSet()
        \tfor _, f := range files {
        \t\tfile, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, 0)
        \t\tif err != nil {
        \t\t\tfmt.Fprintln(os.Stderr, err)
        \t\t\tos.Exit(2)
        \t\t}
        \t\tfor _, decl := range file.Decls {
        \t\t\tgen, ok := decl.(*ast.GenDecl)
        \t\t\tif !ok {
        \t\t\t\tcontinue
        \t\t\t}
        \t\t\tfor _, spec := range gen.Specs {
        \t\t\t\tvs, ok := spec.(*ast.ValueSpec)
        \t\t\t\tif !ok {
        \t\t\t\t\tcontinue
        \t\t\t\t}
        \t\t\t\tfor i, n := range vs.Names {
        \t\t\t\t\tkinds[n.Name] = describe(gen.Tok, vs, i)
        \t\t\t\t}
        \t\t\t}
        \t\t}
        \t}
        \tfor _, n := range names {
        \t\tif k, ok := kinds[n]; ok {
        \t\t\tfmt.Printf("%s\\t%s\\n", n, k)
        \t\t}
        \t}
        }

        func describe(tok token.Token, vs *ast.ValueSpec, i int) string {
        \tif tok != token.VAR {
        \t\treturn "a constant, not a variable"
        \t}
        \tif vs.Type != nil {
        \t\tif id, ok := vs.Type.(*ast.Ident); ok && id.Name == "string" {
        \t\t\treturn "string"
        \t\t}
        \t\treturn "a variable of type " + types.ExprString(vs.Type) + ", not string"
        \t}
        \tif i < len(vs.Values) {
        \t\tif lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
        \t\t\treturn "string"
        \t\t}
        \t\treturn "a variable initialized to " + types.ExprString(vs.Values[i]) + ", not declared string"
        \t}
        \treturn "a variable without a type"
        }

        """
}
