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
