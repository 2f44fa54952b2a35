/// Slash-separated glob matching: `*` and `?` within one path component, `**` across any number of components.
public enum Glob {
    /// True when `text` holds a wildcard (`*`, `?`).
    public static func hasWildcard(_ text: String) -> Bool { text.contains("*") || text.contains("?") }

    /// True when `path` (relative, `/`-separated) matches `pattern`.
    public static func matches(pattern: String, path: String) -> Bool {
        let p = pattern.split(separator: "/").map(String.init)
        let s = path.split(separator: "/").map(String.init)
        return match(p[...], s[...])
    }

    private static func match(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let head = pattern.first else { return path.isEmpty }
        if head == "**" {
            // Zero or more whole components.
            var rest = path
            while true {
                if match(pattern.dropFirst(), rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        }
        guard let component = path.first,
            componentMatches(Array(head.unicodeScalars)[...], Array(component.unicodeScalars)[...])
        else {
            return false
        }
        return match(pattern.dropFirst(), path.dropFirst())
    }

    private static func componentMatches(_ pattern: ArraySlice<Unicode.Scalar>, _ text: ArraySlice<Unicode.Scalar>)
        -> Bool
    {
        guard let head = pattern.first else { return text.isEmpty }
        switch head {
        case "*":
            var rest = text
            while true {
                if componentMatches(pattern.dropFirst(), rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        case "?":
            return !text.isEmpty && componentMatches(pattern.dropFirst(), text.dropFirst())
        default:
            return text.first == head && componentMatches(pattern.dropFirst(), text.dropFirst())
        }
    }
}
