import Foundation
import KbuildCore

/// The outcome of one check of `kbuild verify`: one line of its report.
public struct VerifyCheck: Sendable, Hashable, Codable {
    /// `ok`, `FAIL`, or `skip` (a check that needs something absent, e.g. `--key` or git).
    public enum Status: String, Sendable, Hashable, Codable {
        case ok, fail = "FAIL", skip
    }

    public var status: Status
    /// What was checked: `sha256`, `sha512`, `files`, `artifacts`, `layout`, `binary`, `image`, `source`, `sbom`,
    /// `provenance`, `signature`.
    public var check: String
    /// Where: a file of the release, `file!entry` inside a tarball.
    public var subject: String
    /// What was found, in words.
    public var detail: String

    public init(_ status: Status, _ check: String, _ subject: String, _ detail: String) {
        self.status = status
        self.check = check
        self.subject = subject
        self.detail = detail
    }

    static func ok(_ check: String, _ subject: String, _ detail: String) -> VerifyCheck {
        VerifyCheck(.ok, check, subject, detail)
    }

    static func fail(_ check: String, _ subject: String, _ detail: String) -> VerifyCheck {
        VerifyCheck(.fail, check, subject, detail)
    }

    static func skip(_ check: String, _ subject: String, _ detail: String) -> VerifyCheck {
        VerifyCheck(.skip, check, subject, detail)
    }

    /// `ok   sha256     kubernetes-src.tar.gz: matches SHA256SUMS`.
    public var line: String {
        let status = self.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0)
        let check = self.check.padding(toLength: 10, withPad: " ", startingAt: 0)
        return Escaping.oneLine("\(status) \(check) \(subject): \(detail)")
    }
}

/// Every check of one `kbuild verify` run, in a stable order.
public struct VerifyReport: Sendable, Codable {
    /// The release directory verified.
    public var directory: String
    public var checks: [VerifyCheck]

    /// True when no check failed.
    public var passed: Bool { !checks.contains { $0.status == .fail } }

    /// The failed checks.
    public var failures: [VerifyCheck] { checks.filter { $0.status == .fail } }

    /// Sorted-key JSON for machines: `{"checks":[…],"directory":…,"passed":…}`.
    public func json() -> String { ReportJSON.text(self) }

    private enum OutputKeys: String, CodingKey { case directory, passed, checks }

    /// Encodes `passed` too, for machines; decoding reads the stored fields and ignores it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: OutputKeys.self)
        try container.encode(directory, forKey: .directory)
        try container.encode(passed, forKey: .passed)
        try container.encode(checks, forKey: .checks)
    }
}

/// The JSON of the reports of `kbuild verify` and `kbuild diff`: sorted keys, indented, slashes as is.
public enum ReportJSON {
    public static func text(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and arrays of them: encoding cannot fail.
        let data = (try? encoder.encode(value)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Failures of one archive, bounded: a hostile archive may fail the same way for each of 400,000
/// entries, so the first `listed` of each kind are kept and the rest counted (memory and output bounded).
struct BoundedFailures {
    /// How many entries failing one check the same way are listed before the rest are counted.
    static let listed = 20

    private(set) var listedChecks: [VerifyCheck] = []
    private var counts: [String: (check: String, archive: String, detail: String, count: Int)] = [:]

    /// Records a failure of `check` at `subject` (`archive!entry`) with `detail`.
    mutating func fail(_ check: String, archive: String, entry: String?, _ detail: String) {
        let key = check + "\u{0}" + detail
        let count = (counts[key]?.count ?? 0) + 1
        counts[key] = (check, archive, detail, count)
        if count <= Self.listed {
            listedChecks.append(.fail(check, entry.map { "\(archive)!\($0)" } ?? archive, detail))
        }
    }

    var isEmpty: Bool { listedChecks.isEmpty }

    /// The listed failures, then one line per kind of failure that was cut short.
    var checks: [VerifyCheck] {
        listedChecks
            + counts.values.filter { $0.count > Self.listed }.sorted { ($0.check, $0.detail) < ($1.check, $1.detail) }
            .map {
                .fail($0.check, $0.archive, "\($0.count - Self.listed) more entries (\($0.count) in all): \($0.detail)")
            }
    }
}
