/// A name with `{{field}}` placeholders, as configured layouts write archive names, wrap directories,
/// paths inside archives, generated content and image names: `{{project}}_{{os | title}}_{{arch | uname}}`.
public struct NameTemplate: Codable, Sendable, Hashable, CustomStringConvertible {
    /// What a placeholder may name.
    public enum Field: String, Codable, Sendable, Hashable, CaseIterable {
        /// The config's `project`.
        case project
        /// The release version (`v1.6.20`), and without its leading `v` (`1.6.20`).
        case version, bareVersion
        /// Go's names of the platform (`linux`, `amd64`).
        case os, arch
        /// The binary's name (where one binary is in scope: its path inside, a binary asset, an image).
        case binary
    }

    /// How a value is shown.
    public enum Function: String, Codable, Sendable, Hashable, CaseIterable {
        /// First letter upper case: `linux` → `Linux`.
        case title
        /// `uname -m` style: amd64 → x86_64, 386 → i386, arm → armv7 (GOARM=7), others as Go names them.
        case uname
    }

    public enum Part: Codable, Sendable, Hashable {
        case text(String)
        case field(Field, Function?)
    }

    public let parts: [Part]
    /// The text as written in the config.
    public let description: String

    /// Parses `text`; throws the problem as a sentence (`unknown field "Os"; allowed: …`).
    public init(_ text: String) throws(TemplateError) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateError(problem: "\"{{\" without its closing \"}}\"")
            }
            parts.append(try Self.placeholder(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        if rest.contains("}}") { throw TemplateError(problem: "\"}}\" without its opening \"{{\"") }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
        self.description = text
    }

    private static func placeholder(_ inside: Substring) throws(TemplateError) -> Part {
        let words = inside.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = words.first, let field = Field(rawValue: name) else {
            let allowed = Field.allCases.map(\.rawValue).joined(separator: ", ")
            throw TemplateError(problem: "unknown field \"\(words.first ?? "")\"; allowed: \(allowed)")
        }
        guard words.count <= 2 else { throw TemplateError(problem: "one function at most in {{\(inside)}}") }
        guard words.count == 2 else { return .field(field, nil) }
        guard let function = Function(rawValue: words[1]) else {
            let allowed = Function.allCases.map(\.rawValue).joined(separator: ", ")
            throw TemplateError(problem: "unknown function \"\(words[1])\"; allowed: \(allowed)")
        }
        return .field(field, function)
    }

    /// The fields it uses.
    public var fields: Set<Field> {
        Set(parts.compactMap { if case .field(let field, _) = $0 { field } else { nil } })
    }

    /// The text with every placeholder replaced; a field without a value renders empty (validation
    /// refuses templates that use a field their place does not have).
    public func render(_ values: [Field: String]) -> String {
        parts.map { part in
            switch part {
            case .text(let text): return text
            case .field(let field, let function): return Self.apply(function, to: values[field] ?? "")
            }
        }.joined()
    }

    static func apply(_ function: Function?, to value: String) -> String {
        switch function {
        case nil: return value
        case .title: return value.prefix(1).uppercased() + value.dropFirst()
        case .uname:
            return ["amd64": "x86_64", "386": "i386", "arm": "armv7"][value] ?? value
        }
    }
}

/// What is wrong with a template, as a sentence for the config error.
public struct TemplateError: Error, Sendable, Hashable {
    public var problem: String
}
