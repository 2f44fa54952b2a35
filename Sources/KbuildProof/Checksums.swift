import Foundation

/// One line of `SHA256SUMS`/`SHA512SUMS`: the hex digest and the file name, in `sha256sum`'s text form.
public struct ChecksumLine: Sendable, Hashable {
    public var digest: String
    public var name: String

    public init(digest: String, name: String) {
        self.digest = digest
        self.name = name
    }

    /// Parses `<hex>  <name>` lines (also `sha256sum`'s binary marker `*`); blank lines are skipped.
    public static func parse(_ text: String) throws(ProofError) -> [ChecksumLine] {
        var lines: [ChecksumLine] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].allSatisfy(\.isHexDigit) else {
                throw .malformed(what: "checksum line \(number + 1)", problem: "not `<hex>  <name>`")
            }
            var name = Substring(parts[1])
            if name.hasPrefix(" ") || name.hasPrefix("*") { name = name.dropFirst() }
            lines.append(ChecksumLine(digest: String(parts[0]), name: String(name)))
        }
        return lines
    }

    /// The file text: lines sorted by name (UTF-8 bytes), so it is the same whatever order files were written in.
    public static func render(_ lines: [ChecksumLine]) -> String {
        lines.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            .map { "\($0.digest)  \($0.name)\n" }.joined()
    }
}
