import Foundation
import KbuildCore
import KbuildDigest
import KbuildProof

extension DiffWalker {
    /// Entries added, removed, reordered, and for common ones every header field and the content.
    mutating func tar(_ a: Data, _ b: Data, path: String, depth: Int) async {
        guard let (entriesA, globalA) = RawTar.parse(a), let (entriesB, globalB) = RawTar.parse(b) else {
            bytes(a, b, path: path)
            return
        }
        for key in Set(globalA.keys).union(globalB.keys).sorted() where globalA[key] != globalB[key] {
            add(
                Difference(
                    .changed, path, "pax global \(key)", a: globalA[key] ?? "(none)", b: globalB[key] ?? "(none)"))
        }
        var byNameA: [String: RawTarEntry] = [:]
        var byNameB: [String: RawTarEntry] = [:]
        for entry in entriesA where byNameA[entry.name] == nil { byNameA[entry.name] = entry }
        for entry in entriesB where byNameB[entry.name] == nil { byNameB[entry.name] = entry }
        var removed = Set(byNameA.keys).subtracting(byNameB.keys)
        var added = Set(byNameB.keys).subtracting(byNameA.keys)

        // Image tarballs name blobs by digest: a changed config or layer shows as another name. Pair them
        // through manifest.json so the difference inside is explained.
        var pairs: [(String, String)] = []
        if let manifestA = byNameA["manifest.json"], let manifestB = byNameB["manifest.json"] {
            let blobsA = Self.manifestBlobs(a[manifestA.data])
            let blobsB = Self.manifestBlobs(b[manifestB.data])
            for (blobA, blobB) in zip(blobsA, blobsB) where removed.contains(blobA) && added.contains(blobB) {
                pairs.append((blobA, blobB))
                removed.remove(blobA)
                added.remove(blobB)
            }
        }
        for name in removed.sorted() { add(Difference(.removed, "\(path)!\(name)", "entry")) }
        for name in added.sorted() { add(Difference(.added, "\(path)!\(name)", "entry")) }

        let orderA = entriesA.map(\.name).filter { byNameB[$0] != nil }
        let orderB = entriesB.map(\.name).filter { byNameA[$0] != nil }
        if orderA != orderB,
            let index = zip(orderA, orderB).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset
        {
            add(
                Difference(
                    .changed, path, "entry order",
                    a:
                        "#\(index + 1) \(orderA[index]), then \(orderA.dropFirst(index + 1).prefix(2).joined(separator: ", "))",
                    b:
                        "#\(index + 1) \(orderB[index]), then \(orderB.dropFirst(index + 1).prefix(2).joined(separator: ", "))"
                ))
        }
        for name in orderA where !full {
            guard let entryA = byNameA[name], let entryB = byNameB[name] else { continue }
            await entry(entryA, a, entryB, b, path: "\(path)!\(name)", depth: depth)
        }
        for (blobA, blobB) in pairs where !full {
            guard let entryA = byNameA[blobA], let entryB = byNameB[blobB] else { continue }
            await entry(entryA, a, entryB, b, path: "\(path)!\(blobA) → \(Paths.name(of: blobB))", depth: depth)
        }
    }

    private mutating func entry(
        _ entryA: RawTarEntry, _ a: Data, _ entryB: RawTarEntry, _ b: Data, path: String, depth: Int
    ) async {
        let fields: [(String, String, String)] = [
            ("type", String(entryA.type), String(entryB.type)),
            ("mode", String(entryA.mode, radix: 8), String(entryB.mode, radix: 8)),
            ("uid", String(entryA.uid), String(entryB.uid)), ("gid", String(entryA.gid), String(entryB.gid)),
            ("uname", entryA.uname, entryB.uname), ("gname", entryA.gname, entryB.gname),
            ("mtime", entryA.mtime, entryB.mtime), ("size", String(entryA.size), String(entryB.size)),
            ("link target", entryA.linkTarget, entryB.linkTarget),
        ]
        for (field, valueA, valueB) in fields where valueA != valueB {
            add(Difference(.changed, path, field, a: valueA, b: valueB))
        }
        for key in Set(entryA.pax.keys).union(entryB.pax.keys).sorted() where entryA.pax[key] != entryB.pax[key] {
            add(
                Difference(.changed, path, "pax \(key)", a: entryA.pax[key] ?? "(none)", b: entryB.pax[key] ?? "(none)")
            )
        }
        let dataA = a[entryA.data]
        let dataB = b[entryB.data]
        guard dataA != dataB else { return }
        if depth < 4 {
            let before = found.count
            // Slices share the archive's storage: no copy per nesting level.
            await content(dataA, dataB, path: path, depth: depth + 1)
            if found.count > before { return }
        }
        add(Difference(.changed, path, "content sha256", a: Self.sha256(dataA), b: Self.sha256(dataB)))
    }

    /// Config then layers, as `blobs/sha256/<hex>` entry names, from a docker-archive manifest.json.
    static func manifestBlobs(_ data: Data) -> [String] {
        guard let first = JSONValue.parse(data)?.array?.first else { return [] }
        return [first["Config"]?.string].compactMap { $0 } + (first["Layers"]?.array ?? []).compactMap(\.string)
    }

    static func sha256(_ data: Data) -> String {
        Digest.of(data, .sha256).hex
    }

    /// Every differing key path of two JSON documents (`$.RepoTags[0]`, `$[0].Config`).
    mutating func json(_ a: Data, _ b: Data, path: String) {
        guard let valueA = JSONValue.parse(a), let valueB = JSONValue.parse(b)
        else {
            text(a, b, path: path)
            return
        }
        let before = found.count
        walk(valueA, valueB, key: "$", path: path)
        if found.count == before {
            // Same values, different bytes: key order or whitespace.
            text(a, b, path: path)
        }
    }

    private mutating func walk(_ a: JSONValue?, _ b: JSONValue?, key: String, path: String) {
        guard !full else { return }
        switch (a, b) {
        case (.object(let dictA), .object(let dictB)):
            for name in Set(dictA.keys).union(dictB.keys).sorted() {
                walk(dictA[name], dictB[name], key: key + "." + name, path: path)
            }
        case (.array(let listA), .array(let listB)):
            for index in 0..<max(listA.count, listB.count) {
                walk(
                    index < listA.count ? listA[index] : nil, index < listB.count ? listB[index] : nil,
                    key: "\(key)[\(index)]", path: path)
            }
        default:
            let textA = Self.compact(a)
            let textB = Self.compact(b)
            if textA != textB {
                let change: Difference.Change = a == nil ? .added : b == nil ? .removed : .changed
                add(Difference(change, path, "json \(key)", a: a == nil ? nil : textA, b: b == nil ? nil : textB))
            }
        }
    }

    private static func compact(_ value: JSONValue?) -> String {
        value.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "(none)"
    }

    /// Two executables: the Go build info that differs (`go version -m`), else the first differing byte.
    mutating func binary(_ a: Data, _ b: Data, path: String) async {
        if let infoA = await buildInfo(a), let infoB = await buildInfo(b), infoA != infoB {
            for key in Set(infoA.keys).union(infoB.keys).sorted() where infoA[key] != infoB[key] {
                add(Difference(.changed, path, "go \(key)", a: infoA[key] ?? "(none)", b: infoB[key] ?? "(none)"))
            }
            return
        }
        bytes(a, b, path: path)
    }

    /// `go version -m` as key → value: `go` (toolchain), `path`, `mod`, `dep <module>`, `build <setting>`.
    private mutating func buildInfo(_ bytes: Data) async -> [String: String]? {
        guard let go = differ.go else { return nil }
        counter += 1
        let file = scratch + "/\(counter).bin"
        defer { unlink(file) }
        // `go version` skips files without an execute bit.
        guard FileManager.default.createFile(atPath: file, contents: bytes, attributes: [.posixPermissions: 0o755]),
            let result = try? await differ.runner.run(
                Command(go, ["version", "-m", file], environment: .inherit(overrides: ["GOFLAGS": nil]))),
            result.succeeded
        else { return nil }
        var info: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            if !line.hasPrefix("\t") {
                info["toolchain"] = line.split(separator: " ").last.map(String.init)
                continue
            }
            let fields = line.dropFirst().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let head = fields.first else { continue }
            if head == "build", fields.count > 1, let equals = fields[1].firstIndex(of: "=") {
                info["build " + fields[1][..<equals]] = String(fields[1][fields[1].index(after: equals)...])
            } else if head == "dep" || head == "=>", fields.count > 1 {
                info["dep " + fields[1]] = fields.dropFirst(2).joined(separator: " ")
            } else {
                info[head] = fields.dropFirst().joined(separator: " ")
            }
        }
        return info
    }
}
