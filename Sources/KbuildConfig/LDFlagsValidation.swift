/// Finds user `-ldflags` words that would set a variable kbuild stamps itself.
///
/// kbuild owns the version variables (`<version.package>.gitVersion` and the other five): a user
/// `-X` for one of them would make the binaries report a version `kbuild version` does not.
/// Go's linker parses its arguments with the `flag` package, so `-X v`, `--X v`, `-X=v` and `--X=v`
/// all set `X`; the value `importpath.name=value` names the variable. The check takes the owned
/// names as a parameter so a configurable mapping of version fields can pass its own.
public enum LDFlagsValidation {
    /// One user word that sets an owned variable.
    public struct Violation: Sendable, Equatable {
        /// The index of the `go.ldflags` item naming the variable.
        public var item: Int
        /// The owned variable it sets, `importpath.name`.
        public var variable: String

        /// A violation at `item` setting `variable`.
        public init(item: Int, variable: String) {
            self.item = item
            self.variable = variable
        }
    }

    /// The first item of `items` (the `go.ldflags` list, in order) that sets one of `owned`
    /// (`importpath.name` each), in any spelling Go's linker accepts; nil when none does.
    /// Quotes are ignored and items holding spaces are split, so `"-X 'pkg.v=x'"` is caught too.
    public static func firstOwnedAssignment(in items: [String], owned: [String]) -> Violation? {
        let ownedSet = Set(owned)
        let tokens: [(item: Int, text: String)] = items.enumerated().flatMap { index, item in
            item.filter { !"'\"`".contains($0) }
                .split(whereSeparator: \.isWhitespace)
                .map { (index, String($0)) }
        }
        for (position, token) in tokens.enumerated() {
            guard let (name, inlineValue) = flag(token.text), name == "X" else { continue }
            let value: (item: Int, text: String)?
            if let inlineValue {
                value = (token.item, inlineValue)
            } else {
                value = position + 1 < tokens.count ? tokens[position + 1] : nil
            }
            guard let value else { continue }
            let variable = String(value.text.prefix { $0 != "=" })
            if ownedSet.contains(variable) { return Violation(item: value.item, variable: variable) }
        }
        return nil
    }

    /// The flag name and inline value of `-name`, `--name`, `-name=value` or `--name=value` (Go's flag syntax).
    static func flag(_ token: String) -> (name: String, value: String?)? {
        var rest = Substring(token)
        guard rest.hasPrefix("-") else { return nil }
        rest = rest.dropFirst()
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        guard !rest.isEmpty, !rest.hasPrefix("-") else { return nil }
        guard let equals = rest.firstIndex(of: "=") else { return (String(rest), nil) }
        return (String(rest[..<equals]), String(rest[rest.index(after: equals)...]))
    }
}
