import Foundation

/// A Go module a binary is built from: `mod`/`dep` lines of its build info (after any `=>` replacement).
public struct GoModule: Sendable, Hashable, Comparable {
    public var path: String
    /// `v1.2.3`, or `(devel)` for the main module of a build outside a module proxy.
    public var version: String
    /// The go.sum hash (`h1:…`), when the build info has one.
    public var sum: String?

    public init(path: String, version: String, sum: String? = nil) {
        self.path = path
        self.version = version
        self.sum = sum
    }

    /// The version Go gives a module built from a directory rather than a module proxy.
    public static let develVersion = "(devel)"

    public static func < (lhs: GoModule, rhs: GoModule) -> Bool {
        (lhs.path, lhs.version) < (rhs.path, rhs.version)
    }
}

/// What a Go binary says about how it was built (`runtime/debug.BuildInfo`; `go version -m` prints it).
public struct GoBuildInfo: Sendable, Hashable {
    /// `go1.19.8`.
    public var goVersion: String
    /// The main package, e.g. `k8s.io/example/cmd/kubectl`.
    public var path: String
    public var main: GoModule?
    /// Dependencies, sorted by path.
    public var dependencies: [GoModule]
    /// `build` settings: `GOOS`, `GOARCH`, `-ldflags`, `CGO_ENABLED`, …
    public var settings: [String: String]

    public init(
        goVersion: String, path: String, main: GoModule?, dependencies: [GoModule], settings: [String: String] = [:]
    ) {
        self.goVersion = goVersion
        self.path = path
        self.main = main
        self.dependencies = dependencies.sorted()
        self.settings = settings
    }

    /// Parses the module-info text (`path`, `mod`, `dep`, `=>`, `build` lines; tab-separated).
    public static func parse(modinfo: String, goVersion: String) -> GoBuildInfo {
        var path = ""
        var main: GoModule?
        var dependencies: [GoModule] = []
        var settings: [String: String] = [:]
        for raw in modinfo.split(separator: "\n") {
            // `go version -m` indents every line with a tab; the embedded text does not.
            let line = raw.hasPrefix("\t") ? raw.dropFirst() : raw[...]
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let kind = fields.first, fields.count >= 2 else { continue }
            let module = GoModule(
                path: fields[1], version: fields.count > 2 ? fields[2] : "",
                sum: fields.count > 3 && !fields[3].isEmpty ? fields[3] : nil)
            switch kind {
            case "path": path = fields[1]
            case "mod": main = module
            case "dep": dependencies.append(module)
            case "=>":
                // A replacement applies to the module line just above it; what was built is the replacement.
                // A local directory (`./dep`, `/src/dep`) keeps the module's name, at version `(devel)`.
                var replaced = module
                if module.path.hasPrefix(".") || module.path.hasPrefix("/") {
                    let original = dependencies.last ?? main
                    replaced = GoModule(path: original?.path ?? module.path, version: GoModule.develVersion)
                }
                if !dependencies.isEmpty { dependencies[dependencies.count - 1] = replaced } else { main = replaced }
            case "build":
                let setting = fields[1]
                if let equals = setting.firstIndex(of: "=") {
                    settings[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
                }
            default: continue
            }
        }
        return GoBuildInfo(goVersion: goVersion, path: path, main: main, dependencies: dependencies, settings: settings)
    }

    /// Parses `go version -m BINARY` output: `BINARY: go1.19.8`, then the module info indented by a tab.
    public static func parse(goVersionOutput text: String) throws(ProofError) -> GoBuildInfo {
        guard let first = text.split(separator: "\n").first, let colon = first.range(of: ": ", options: .backwards)
        else { throw .malformed(what: "go version -m output", problem: "no `<binary>: <go version>` line") }
        let rest = text.split(separator: "\n").dropFirst().joined(separator: "\n")
        return parse(modinfo: rest, goVersion: String(first[colon.upperBound...]))
    }

    /// Reads the build info Go 1.18+ embeds in every binary (ELF, Mach-O, PE alike): the `\xff Go buildinf:`
    /// header, then the Go version and the module info as length-prefixed strings. nil when there is none.
    public static func read(binary bytes: Data) -> GoBuildInfo? {
        let header = [UInt8(0xff)] + Array(" Go buildinf:".utf8)
        return bytes.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> GoBuildInfo? in
            guard let base = buffer.baseAddress else { return nil }
            // Go aligns the header to 16 bytes, so only every 16th byte can start it.
            for start in stride(from: 0, to: buffer.count - 32, by: 16)
            where buffer[start] == 0xff && memcmp(base + start, header, header.count) == 0 {
                // Flag bit 2: the strings follow inline (Go 1.18+); older binaries point into memory instead.
                guard buffer[start + 15] & 2 != 0 else { continue }
                var cursor = start + 32
                guard let version = readBytes(buffer, &cursor), let modinfo = readBytes(buffer, &cursor) else {
                    continue
                }
                return parse(
                    modinfo: String(decoding: stripSentinels(modinfo), as: UTF8.self),
                    goVersion: String(decoding: version, as: UTF8.self))
            }
            return nil
        }
    }

    /// A uvarint length, then that many bytes.
    private static func readBytes(_ buffer: UnsafeRawBufferPointer, _ cursor: inout Int) -> [UInt8]? {
        var length = 0
        var shift = 0
        while cursor < buffer.count {
            let byte = buffer[cursor]
            cursor += 1
            length |= Int(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            if shift > 35 { return nil }
        }
        guard length >= 0, cursor + length <= buffer.count else { return nil }
        let bytes = Array(buffer[cursor..<cursor + length])
        cursor += length
        return bytes
    }

    /// The module info is wrapped in 16-byte sentinels (as `debug/buildinfo` strips them).
    private static func stripSentinels(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        guard bytes.count >= 33, bytes[bytes.count - 17] == UInt8(ascii: "\n") else { return bytes[...] }
        return bytes[16..<(bytes.count - 16)]
    }
}
