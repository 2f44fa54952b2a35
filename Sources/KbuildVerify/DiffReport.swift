import Foundation
import KbuildCore

/// One explained difference between A and B.
public struct Difference: Sendable, Hashable, Codable {
    public enum Change: String, Sendable, Hashable, Codable {
        case added, removed, changed
    }

    public var change: Change
    /// Where: a file relative to the compared roots, `file!entry` inside an archive, nested with `!`.
    public var path: String
    /// What differs: `file`, `entry`, `mode`, `uid`, `mtime`, `gzip header name`, `json $.RepoTags[0]`,
    /// `go build -ldflags`, `bytes`, …
    public var field: String
    /// The value in A, when it has one.
    public var a: String?
    /// The value in B, when it has one.
    public var b: String?

    public init(_ change: Change, _ path: String, _ field: String, a: String? = nil, b: String? = nil) {
        self.change = change
        self.path = path
        self.field = field
        self.a = a
        self.b = b
    }
}

/// Everything `kbuild diff` found, in the order it walked A and B.
public struct DiffReport: Sendable, Codable {
    public var a: String
    public var b: String
    public var differences: [Difference]

    /// True when A and B are byte-identical.
    public var identical: Bool { differences.isEmpty }

    /// The human table: change, where, what, A, B.
    public func table() -> String {
        guard !identical else { return "identical: \(Escaping.oneLine(a)) and \(Escaping.oneLine(b))\n" }
        let rows =
            [["CHANGE", "WHERE", "WHAT", "A", "B"]]
            + differences.map { [$0.change.rawValue, $0.path, $0.field, Self.cell($0.a), Self.cell($0.b)] }
        var widths = [Int](repeating: 0, count: 5)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        widths[1] = min(widths[1], 70)
        var out = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line +=
                    index == row.count - 1
                    ? cell : cell.padding(toLength: max(widths[index], cell.count), withPad: " ", startingAt: 0) + "  "
            }
            out += Escaping.oneLine(line.trimmingCharacters(in: .whitespaces)) + "\n"
        }
        return out + "\(differences.count) difference\(differences.count == 1 ? "" : "s")\n"
    }

    /// Sorted-key JSON: `{"a":…,"b":…,"differences":[…],"identical":…}`.
    public func json() -> String { ReportJSON.text(self) }

    private enum OutputKeys: String, CodingKey { case a, b, identical, differences }

    /// Encodes `identical` too, for machines; decoding reads the stored fields and ignores it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: OutputKeys.self)
        try container.encode(a, forKey: .a)
        try container.encode(b, forKey: .b)
        try container.encode(identical, forKey: .identical)
        try container.encode(differences, forKey: .differences)
    }

    private static func cell(_ value: String?) -> String {
        guard let value else { return "-" }
        if value.isEmpty { return "\"\"" }
        let line = Escaping.oneLine(value)
        return line.count > 72 ? String(line.prefix(69)) + "…" : line
    }
}
