import Foundation
import KbuildCore
import Yams

/// `cgo`: the C toolchain of each platform for binaries with `static: false`.
extension ConfigReader {
    /// Keys of one platform's cgo settings; KbuildGo's `CgoToolchain.variables` lists the same.
    static let cgoVariables = ["CC", "CXX", "AR", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS"]

    /// `{os/arch: {CC: …, CXX: …, CGO_CFLAGS: …}}`; platforms must be Go's, values one line each.
    func readCgo(_ entry: Entry?) throws -> [Platform: [String: String]] {
        guard let entry, !isNull(entry.value) else { return [:] }
        guard case let .mapping(map) = entry.value else {
            throw fail(
                entry.value, "cgo", "expected a mapping of os/arch to {CC, CXX, …}, found \(describe(entry.value))")
        }
        var result: [Platform: [String: String]] = [:]
        for (key, value) in map {
            let text = key.scalar?.string ?? ""
            let path = "cgo.\(text)"
            let platform = try self.platform(text, key, path)
            var variables: [String: String] = [:]
            for (name, given) in try mapping(value, path, allowed: Self.cgoVariables) {
                let setting = try string(given.value, "\(path).\(name)")
                guard !setting.contains(where: \.isNewline), !setting.trimmingCharacters(in: .whitespaces).isEmpty
                else {
                    throw fail(given.value, "\(path).\(name)", "must be one non-empty line")
                }
                variables[name] = setting
            }
            result[platform] = variables
        }
        return result
    }
}
