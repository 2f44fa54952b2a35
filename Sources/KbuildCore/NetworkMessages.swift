import Foundation

/// Network failures in words fit for one error line.
public enum NetworkMessages {
    /// The message libcurl gave (e.g. "SSL certificate problem: self-signed certificate"), found in the
    /// innermost error, when URLSession has no code for it; only when it is one plain line, never a
    /// Foundation description.
    public static func libcurl(_ error: NSError) -> String? {
        var innermost = error
        while let underlying = innermost.userInfo[NSUnderlyingErrorKey] as? NSError { innermost = underlying }
        guard let text = innermost.userInfo[NSLocalizedDescriptionKey] as? String, !text.isEmpty, text.count < 200,
            !text.contains("Domain="), !text.contains("\n"), !text.contains("operation couldn")
        else { return nil }
        return text
    }
}
