import Foundation
import KbuildVersion
import Yams

/// `version.variables`: kbuild's version fields mapped onto any Go string variables.
extension ConfigReader {
    static let fieldList = VersionField.allCases.map(\.rawValue).joined(separator: ", ")

    /// Reads `{field: variable}`; a variable is `Name` (in `version.package`), `<import path>.Name` or `main.Name`.
    /// The static checks here (the package's directory exists) come first; `VersionVariableCheck` then asks Go.
    func readVariables(_ node: Node, package: String?, packageNode: Node) throws -> VersionStamp {
        // `{}` (or null) stamps nothing: for a project without a version variable.
        let fields = try mapping(node, "version.variables", allowed: VersionField.allCases.map(\.rawValue))
        var assignments: [VersionStamp.Assignment] = []
        var seen: [String: String] = [:]
        // Config order, so the flags come out in the order the user wrote them.
        let ordered = fields.sorted {
            ($0.value.key.mark?.line ?? 0, $0.value.key.mark?.column ?? 0) < (
                $1.value.key.mark?.line ?? 0, $1.value.key.mark?.column ?? 0
            )
        }
        for (name, entry) in ordered {
            let path = "version.variables.\(name)"
            guard let field = VersionField(rawValue: name) else { continue }
            let text = try string(entry.value, path)
            let target: (package: String, variable: String)
            if !text.contains(".") && !text.contains("/") {
                guard let package else {
                    throw fail(
                        entry.value, path,
                        "\"\(text)\" names no package and version.package is not set; write <import path>.\(text) or main.\(text)"
                    )
                }
                target = (package, text)
            } else if let split = VersionStamp.split(text) {
                target = split
            } else {
                throw fail(
                    entry.value, path,
                    "\"\(text)\" is not a variable; allowed: Name (in version.package), <import path>.Name or main.Name"
                )
            }
            guard Self.isGoIdentifier(target.variable) else {
                throw fail(
                    entry.value, path,
                    "\"\(target.variable)\" is not a Go identifier; allowed: letters, digits and '_', not starting with a digit"
                )
            }
            let full = target.package + "." + target.variable
            if let other = seen[full] {
                throw fail(entry.value, path, "\(full) already receives \(other); each variable takes one field")
            }
            seen[full] = name
            if target.package != "main", let problem = module.problem(package: target.package, requireMain: false) {
                throw fail(entry.value, path, problem + " (the -X version ldflags would stamp nothing)")
            }
            assignments.append(.init(field: field, package: target.package, variable: target.variable))
        }
        return VersionStamp(assignments)
    }

    static func isGoIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !CharacterSet.decimalDigits.contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || CharacterSet.alphanumerics.contains($0) }
    }
}
