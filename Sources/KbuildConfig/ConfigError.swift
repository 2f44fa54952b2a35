import KbuildCore

/// A release config problem, named precisely enough to fix without reading kbuild's source.
public enum ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The config file cannot be read at all.
    case unreadable(file: String, reason: String)
    /// A problem at `file:line:column` in `field` (a path like `binaries[2].kinds[0]`; empty for syntax errors).
    case invalid(file: String, line: Int, column: Int, field: String, message: String)
    /// An environment variable (`KUBE_BUILD_PLATFORMS`, …) holds a value kbuild cannot use.
    case environment(variable: String, value: String, message: String)

    /// One line whatever the values in it hold (a newline in a value is shown as `\n`).
    public var description: String { Escaping.oneLine(text) }

    private var text: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the release config: \(reason)"
        case let .invalid(file, line, column, field, message):
            return field.isEmpty
                ? "\(file):\(line):\(column): \(message)"
                : "\(file):\(line):\(column): \(field): \(message)"
        case let .environment(variable, value, message):
            return "\(variable)=\(Escaping.shown(value)): \(message)"
        }
    }
}
