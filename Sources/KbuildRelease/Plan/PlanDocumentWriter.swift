import Foundation

/// Writes a `PlanDocument` in exactly the bytes `JSONEncoder` gives it (pretty printed, keys sorted,
/// slashes unescaped), field by field: the plan of a large layout holds thousands of entries, and the
/// generic encoder spent more CPU on them than planning did. A test holds the two byte-identical.
struct PlanDocumentWriter {
    private(set) var bytes: [UInt8] = []
    private var depth = 0
    /// Per open container: whether it has no member yet.
    private var empty: [Bool] = []

    static func encode(_ document: PlanDocument) -> Data {
        var writer = PlanDocumentWriter()
        writer.bytes.reserveCapacity(4096 + document.archives.count * 2048)
        writer.write(document)
        return Data(writer.bytes)
    }

    private mutating func write(_ document: PlanDocument) {
        object {
            $0.member("archives") { writer in writer.array(document.archives) { $0.write($1) } }
            $0.member("builds") { writer in writer.array(document.builds) { $0.write($1) } }
            $0.member("images") { writer in writer.array(document.images) { $0.write($1) } }
            $0.member("project", document.project)
            $0.member("schemaVersion") { $0.raw(String(document.schemaVersion)) }
            $0.member("sideFiles") { writer in writer.array(document.sideFiles) { $0.write($1) } }
            $0.member("sourceDate") { $0.raw(String(document.sourceDate)) }
            $0.member("version", document.version)
            $0.member("versionSource", document.versionSource)
        }
    }

    private mutating func write(_ archive: PlanDocument.Archive) {
        object {
            $0.member("entries") { writer in writer.array(archive.entries) { $0.write($1) } }
            $0.member("format", archive.format)
            $0.member("kind", archive.kind)
            $0.member("name", archive.name)
            $0.member("path", archive.path)
            $0.member("platform", archive.platform)
        }
    }

    private mutating func write(_ entry: PlanDocument.Entry) {
        object {
            $0.member("mode", entry.mode)
            $0.member("path", entry.path)
            $0.member("source") { $0.write(entry.source) }
            $0.member("type", entry.type)
        }
    }

    private mutating func write(_ source: PlanDocument.Source) {
        object {
            $0.member("archive", source.archive)
            $0.member("binary", source.binary)
            $0.member("content", source.content)
            $0.member("file", source.file)
            $0.member("kind", source.kind)
            $0.member("platform", source.platform)
            $0.member("tree", source.tree)
        }
    }

    private mutating func write(_ build: PlanDocument.Build) {
        object {
            $0.member("binary", build.binary)
            $0.member("output", build.output)
            $0.member("package", build.package)
            $0.member("platform", build.platform)
            $0.member("static") { $0.raw(build.static ? "true" : "false") }
        }
    }

    private mutating func write(_ image: PlanDocument.Image) {
        object {
            $0.member("binary", image.binary)
            $0.member("platform", image.platform)
            $0.member("repository", image.repository)
            $0.member("tagFile", image.tagFile)
            $0.member("tarball", image.tarball)
        }
    }

    private mutating func write(_ side: PlanDocument.Side) {
        object {
            $0.member("algorithm", side.algorithm)
            $0.member("kind", side.kind)
            $0.member("name", side.name)
            $0.member("of", side.of)
            $0.member("path", side.path)
            $0.member("signedOnly") { $0.raw(side.signedOnly ? "true" : "false") }
        }
    }

    // MARK: - JSONEncoder's pretty form

    private mutating func object(_ members: (inout PlanDocumentWriter) -> Void) {
        open(UInt8(ascii: "{"))
        members(&self)
        close(UInt8(ascii: "}"))
    }

    private mutating func array<T>(_ items: [T], _ write: (inout PlanDocumentWriter, T) -> Void) {
        open(UInt8(ascii: "["))
        for item in items {
            separate()
            write(&self, item)
        }
        close(UInt8(ascii: "]"))
    }

    /// `"key" : "value"`; absent when nil, as `encodeIfPresent` leaves it.
    private mutating func member(_ key: String, _ value: String?) {
        guard let value else { return }
        member(key) { $0.string(value) }
    }

    private mutating func member(_ key: String, _ value: (inout PlanDocumentWriter) -> Void) {
        separate()
        string(key)
        bytes += [UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: " ")]
        value(&self)
    }

    private mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        depth += 1
        empty.append(true)
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        // An empty container is written with an empty line inside: `[\n\n  ]`.
        if empty.removeLast() { bytes.append(UInt8(ascii: "\n")) }
        newline()
        bytes.append(bracket)
    }

    private mutating func separate() {
        if empty[empty.count - 1] {
            empty[empty.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        newline()
    }

    private mutating func newline() {
        bytes.append(UInt8(ascii: "\n"))
        bytes += repeatElement(UInt8(ascii: " "), count: depth * 2)
    }

    private mutating func raw(_ text: String) { bytes += text.utf8 }

    private mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
