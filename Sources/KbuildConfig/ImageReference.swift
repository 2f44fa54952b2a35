/// The docker reference grammar (distribution/reference), restricted to lowercase as image names require.
enum ImageReference {
    static let registryHint = "expected lowercase host[:port][/path], e.g. registry.k8s.io or localhost:5000/team"

    /// Why `registry` is not a valid image name prefix, or nil when it is.
    static func registryProblem(_ registry: String) -> String? {
        if registry.isEmpty { return "the registry is empty; \(registryHint)" }
        let parts = registry.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let host = parts[0]
        let hostParts = host.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard hostParts.count <= 2 else { return "\"\(host)\" has more than one ':'; \(registryHint)" }
        let domain = hostParts[0]
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for label in labels where !isDomainComponent(label) {
            return "\"\(label)\" in \"\(domain)\" is not a lowercase host name part (a-z, 0-9, inner '-'); \(registryHint)"
        }
        if hostParts.count == 2 {
            let port = hostParts[1]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return "port \"\(port)\" is not a number; \(registryHint)"
            }
            guard port.count <= 5, let number = Int(port), (1...65535).contains(number) else {
                return "port \(port) is out of range; allowed: a port from 1 to 65535, \(registryHint)"
            }
        }
        for component in parts.dropFirst() where !isPathComponent(component) {
            return "path component \"\(component)\" is not lowercase a-z, 0-9 joined by '.', '_', '__' or '-'; \(registryHint)"
        }
        return nil
    }

    /// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`: an image name path component.
    static func isPathComponent(_ text: String) -> Bool {
        let chars = Array(text.utf8)
        guard let first = chars.first, let last = chars.last, isAlnum(first), isAlnum(last) else { return false }
        var i = 0
        while i < chars.count {
            if isAlnum(chars[i]) { i += 1; continue }
            // A separator run: "." | "_" | "__" | "-"+, always followed by an alphanumeric.
            var j = i
            while j < chars.count, !isAlnum(chars[j]) { j += 1 }
            let separator = chars[i..<j]
            let ok = separator.elementsEqual(".".utf8) || separator.elementsEqual("_".utf8)
                || separator.elementsEqual("__".utf8) || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            if !ok { return false }
            i = j
        }
        return true
    }

    private static func isDomainComponent(_ text: String) -> Bool {
        let chars = Array(text.utf8)
        guard let first = chars.first, let last = chars.last, isAlnum(first), isAlnum(last) else { return false }
        return chars.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }
}
