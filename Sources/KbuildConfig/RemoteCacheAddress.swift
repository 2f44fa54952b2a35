import Foundation

/// The address of a shared cache speaking the Bazel HTTP remote-cache protocol (`<url>/ac/<key>`,
/// `<url>/cas/<sha256>`): http or https, a host, an optional port and an optional path prefix.
public struct RemoteCacheAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The normalized URL: lowercase scheme and host, no trailing slash.
    public let url: String

    /// What an address may look like, for the "allowed" half of error messages.
    public static let allowed =
        "http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH], port 1-65535, no credentials, query or fragment"

    /// A parsed address, or why `text` is not one (one line, without the culprit).
    public enum Parsed: Sendable, Equatable {
        case address(RemoteCacheAddress)
        case problem(String)
    }

    /// Parses and normalizes `text`.
    public static func parse(_ text: String) -> Parsed {
        do {
            return .address(RemoteCacheAddress(url: try normalize(text)))
        } catch {
            return .problem(error.reason)
        }
    }

    private init(url: String) { self.url = url }

    private struct Problem: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private static func normalize(_ text: String) throws(Problem) -> String {
        guard !text.isEmpty else { throw .init("empty") }
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else {
            throw .init("contains spaces, control or non-ASCII characters")
        }
        guard let separator = text.range(of: "://") else { throw .init("no scheme") }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw .init("scheme \(scheme) is not supported") }
        let rest = text[separator.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else { throw .init("has a query or fragment") }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        guard !authority.contains("@") else {
            throw .init("credentials in the URL are not supported (they would show in logs)")
        }
        var host = Substring(authority)
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .init("unterminated IPv6 address") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .init("unexpected text after the IPv6 address") }
                port = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw .init("no host") }
        let hostCharacters =
            host.hasPrefix("[")
            ? CharacterSet(charactersIn: "0123456789abcdefABCDEF:.[]")
            : CharacterSet.alphanumerics.union(CharacterSet(charactersIn: ".-_"))
        guard host.unicodeScalars.allSatisfy({ hostCharacters.contains($0) }), host != "[]" else {
            throw .init("host \(host) is not a host name or IP address")
        }
        if let port {
            guard let number = Int(port), number >= 1, number <= 65535, port.allSatisfy(\.isNumber) else {
                throw .init("port \(port.isEmpty ? "(empty)" : String(port)) is not in 1-65535")
            }
        }
        while path.hasSuffix("/") { path.removeLast() }
        return "\(scheme)://\(host.lowercased())\(port.map { ":\($0)" } ?? "")\(path)"
    }

    public var description: String { url }
}
