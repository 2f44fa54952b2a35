import Foundation

/// The one timestamp of a release: every tar entry, image `created` and `buildDate` uses it.
public struct SourceDate: Sendable, Hashable, Comparable, CustomStringConvertible, Encodable {
    /// Seconds since the Unix epoch.
    public let seconds: Int64

    /// The largest accepted value: 9999-12-31T23:59:59Z.
    public static let maximum: Int64 = 253_402_300_799

    public init(seconds: Int64) throws(SourceDateError) {
        guard seconds >= 0, seconds <= Self.maximum else {
            throw .outOfRange(String(seconds))
        }
        self.seconds = seconds
    }

    /// Parses a `SOURCE_DATE_EPOCH` value: decimal digits only, 0 ... 253402300799.
    public init(parsing text: String, name: String = "SOURCE_DATE_EPOCH") throws(SourceDateError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            if trimmed.hasPrefix("-"), Int64(trimmed) != nil { throw .outOfRange(text) }
            throw .notAnInteger(name: name, value: text)
        }
        guard let value = Int64(trimmed) else { throw .outOfRange(text) }
        try self.init(seconds: value)
    }

    /// UTC `YYYY-MM-DDTHH:MM:SSZ`, the form of Kubernetes' `buildDate` and of image `created`.
    public var rfc3339: String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    public var description: String { String(seconds) }

    public static func < (lhs: SourceDate, rhs: SourceDate) -> Bool { lhs.seconds < rhs.seconds }
}

/// A bad `SOURCE_DATE_EPOCH`.
public enum SourceDateError: Error, CustomStringConvertible, Equatable {
    case notAnInteger(name: String, value: String)
    case outOfRange(String)

    public var description: String {
        switch self {
        case .notAnInteger(let name, let value):
            return "\(name)='\(value)' is not an integer: expected seconds since 1970-01-01 UTC, e.g. 1700000000"
        case .outOfRange(let value):
            return
                "SOURCE_DATE_EPOCH='\(value)' is out of range: allowed 0 ... \(SourceDate.maximum) (1970 to the end of 9999)"
        }
    }
}
