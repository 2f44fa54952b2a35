import Foundation

/// Values and system errors as text fit for a one-line error message.
public enum Escaping {
    /// `value` in double quotes, with backslashes, quotes and control characters escaped (`\n`, `\t`,
    /// `\u{1b}`…): a value with a newline in it can never cut an error line short.
    public static func shown(_ value: String) -> String {
        "\"" + escaped(value, quotes: true) + "\""
    }

    /// `text` with control and line-separator characters escaped, everything else as it is: the
    /// whole of an error message that must stay on one line.
    public static func oneLine(_ text: String) -> String {
        escaped(text, quotes: false)
    }

    private static func escaped(_ text: String, quotes: Bool) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\" where quotes: result += "\\\\"
            case "\"" where quotes: result += "\\\""
            default:
                let category = scalar.properties.generalCategory
                if category == .control || category == .lineSeparator || category == .paragraphSeparator {
                    result += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// The system's reason for a Foundation file error (`strerror` of its POSIX code), never
    /// Foundation's own wording ("NSCocoaErrorDomain error 256", "You don't have permission").
    public static func reason(of error: any Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return String(cString: strerror(ENOENT))
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return String(cString: strerror(EACCES))
            case NSFileWriteOutOfSpaceError: return String(cString: strerror(ENOSPC))
            case NSFileWriteVolumeReadOnlyError: return String(cString: strerror(EROFS))
            default: return "input/output error"
            }
        }
        return oneLine("\(error)")
    }
}

/// A URL's parts where secrets hide: `user:password@` before the host, `?token=…` and `#…` after the path.
/// One splitter for everything that shows or publishes a URL kbuild was given (a git remote, a cache address).
public struct URLSecrets: Sendable, Equatable {
    /// `scheme://host[:port]/path` with no userinfo, query or fragment (nil scheme: not a `scheme://` URL).
    public var scheme: String?
    public var hostAndPath: String
    public var hasUserinfo: Bool
    public var hasQuery: Bool
    public var hasFragment: Bool

    /// Splits `url` (`scheme://[userinfo@]host/path[?query][#fragment]`); nil when it has no `://`.
    public init?(_ url: String) {
        guard let separator = url.range(of: "://") else { return nil }
        scheme = String(url[..<separator.lowerBound])
        var rest = url[separator.upperBound...]
        hasFragment = false
        if let hash = rest.firstIndex(of: "#") {
            rest = rest[..<hash]
            hasFragment = true
        }
        hasQuery = false
        if let question = rest.firstIndex(of: "?") {
            rest = rest[..<question]
            hasQuery = true
        }
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        hasUserinfo = false
        if let at = rest[..<hostEnd].lastIndex(of: "@") {
            rest = rest[rest.index(after: at)...]
            hasUserinfo = true
        }
        hostAndPath = String(rest)
    }

    /// Without userinfo, query and fragment: fit to publish (a provenance's source URI).
    public var stripped: String { "\(scheme ?? "")://\(hostAndPath)" }

    /// For an error message: each secret-bearing part replaced by `<redacted>`, so the user sees where the
    /// problem is and no secret is echoed.
    public var redacted: String {
        (scheme ?? "") + "://" + (hasUserinfo ? "<redacted>@" : "") + hostAndPath + (hasQuery ? "?<redacted>" : "")
            + (hasFragment ? "#<redacted>" : "")
    }

    /// `url` as an error message may show it: redacted when it is a `scheme://` URL, else as given.
    public static func shown(_ url: String) -> String { URLSecrets(url)?.redacted ?? url }
}
