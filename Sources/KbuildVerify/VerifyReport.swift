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
    public func json() -> String {
        struct Output: Encodable {
            var directory: String
            var passed: Bool
            var checks: [VerifyCheck]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Output(directory: directory, passed: passed, checks: checks))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
