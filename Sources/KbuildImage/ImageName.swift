/// Docker repository names (`[host[:port]/]path`): the distribution/reference grammar, lowercase
/// throughout (hosts too: one spelling per registry, so a tag never depends on how a host was typed).
/// The release config's `images.registry`, `KUBE_DOCKER_REGISTRY` and every image name are checked here.
public enum ImageName {
    /// What a registry may look like, for messages.
    public static let registryHint =
        "expected lowercase host[:port][/path], e.g. registry.k8s.io or localhost:5000/team"

    /// Throws unless `name` is a valid repository name.
    public static func validate(_ name: String, binary: String) throws(ImageError) {
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw .invalidRepository(name: name, binary: binary, reason: "must be 1 to 255 characters")
        }
        var components = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.count > 1, looksLikeHost(components[0]) {
            if let problem = hostProblem(components[0]) {
                throw .invalidRepository(name: name, binary: binary, reason: problem)
            }
            components.removeFirst()
        }
        for component in components where !isPathComponent(component) {
            throw .invalidRepository(name: name, binary: binary, reason: pathProblem(component))
        }
    }

    /// Why `registry` is not a valid image name prefix (a host, then path components), or nil.
    public static func registryProblem(_ registry: String) -> String? {
        if registry.isEmpty { return "the registry is empty; \(registryHint)" }
        let parts = registry.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if let problem = hostProblem(parts[0]) { return problem }
        for component in parts.dropFirst() where !isPathComponent(component) {
            return pathProblem(component)
        }
        return nil
    }

    /// The first component names a host when it has a `.` or `:` or is `localhost` (as docker decides).
    static func looksLikeHost(_ text: String) -> Bool {
        text.contains(".") || text.contains(":") || text == "localhost" || text.contains(where: \.isUppercase)
    }

    /// Why `host` is not `domain[:port]`: lowercase labels of a-z, 0-9 and inner `-`, a port 1–65535.
    static func hostProblem(_ host: String) -> String? {
        let hostParts = host.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard hostParts.count <= 2 else { return "\"\(host)\" has more than one ':'; \(registryHint)" }
        let domain = hostParts[0]
        for label in domain.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        where !isDomainComponent(label) {
            return
                "\"\(label)\" in \"\(domain)\" is not a lowercase host name part (a-z, 0-9, inner '-'); \(registryHint)"
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
        return nil
    }

    private static func pathProblem(_ component: String) -> String {
        "path component \"\(component)\" is not lowercase a-z, 0-9 joined by '.', '_', '__' or '-'; \(registryHint)"
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`: an image name path component.
    public static func isPathComponent(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            if isAlnum(bytes[index]) {
                index += 1
                continue
            }
            // A separator run: "." | "_" | "__" | "-"+, always followed by an alphanumeric.
            var end = index
            while end < bytes.count, !isAlnum(bytes[end]) { end += 1 }
            let separator = bytes[index..<end]
            guard
                separator.elementsEqual(".".utf8) || separator.elementsEqual("_".utf8)
                    || separator.elementsEqual("__".utf8) || separator.allSatisfy({ $0 == UInt8(ascii: "-") })
            else { return false }
            index = end
        }
        return true
    }

    private static func isDomainComponent(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
