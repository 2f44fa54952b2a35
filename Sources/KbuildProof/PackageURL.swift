/// A package URL (https://github.com/package-url/purl-spec): `pkg:type/namespace/name@version?qualifiers#subpath`.
public struct PackageURL: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    /// Slash-separated segments, each percent-encoded on its own.
    public var namespace: String?
    public var name: String
    public var version: String?
    /// Written sorted by key, as the spec's canonical form requires.
    public var qualifiers: [String: String]
    public var subpath: String?

    public init(
        type: String, namespace: String? = nil, name: String, version: String? = nil,
        qualifiers: [String: String] = [:], subpath: String? = nil
    ) {
        self.type = type
        self.namespace = namespace
        self.name = name
        self.version = version
        self.qualifiers = qualifiers
        self.subpath = subpath
    }

    /// A Go module, `pkg:golang/<module path>@<version>`: the path's last element is the name.
    public static func golang(
        module path: String, version: String?, subpath: String? = nil, qualifiers: [String: String] = [:]
    )
        -> PackageURL
    {
        let segments = path.split(separator: "/").map(String.init)
        return PackageURL(
            type: "golang", namespace: segments.count > 1 ? segments.dropLast().joined(separator: "/") : nil,
            name: segments.last ?? path, version: version, qualifiers: qualifiers, subpath: subpath)
    }

    public var description: String {
        var text = "pkg:\(type)/"
        if let namespace {
            text += namespace.split(separator: "/").map { Self.encode(String($0)) }.joined(separator: "/") + "/"
        }
        text += Self.encode(name)
        if let version { text += "@" + Self.encode(version, keep: ":") }
        let pairs = qualifiers.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
        if !pairs.isEmpty {
            text +=
                "?"
                + pairs.map { "\($0.key.lowercased())=\(Self.encode($0.value, keep: ":/,"))" }
                .joined(separator: "&")
        }
        if let subpath, !subpath.isEmpty {
            text += "#" + subpath.split(separator: "/").map { Self.encode(String($0)) }.joined(separator: "/")
        }
        return text
    }

    /// Percent-encodes all but the unreserved characters (and `keep`).
    static func encode(_ text: String, keep: String = "") -> String {
        let unreserved = Set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8
        ).union(keep.utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
