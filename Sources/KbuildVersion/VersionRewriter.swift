/// The pure string rules of hack/lib/version.sh: describe → semver, major/minor, validation.
public enum VersionRewriter {
    /// Rewrites `git describe` output to semver by its number of dashes, exactly as Kubernetes does:
    /// two dashes `v1.30.0-5-g0123456789abcd` → `v1.30.0-5+0123456789abcd`; three dashes
    /// `v1.31.0-alpha.1-123-g0123456789abcd` → `v1.31.0-alpha.1.123+0123456789abcd`; anything else
    /// (an exact tag, or a suffix that is not a 14-hex-digit abbreviation) is returned unchanged.
    public static func semver(fromDescribe describe: String) -> String {
        let bytes = Array(describe.utf8)
        let dashes = bytes.count(where: { $0 == UInt8(ascii: "-") })
        guard dashes == 2 || dashes == 3, let hash = abbreviatedHashSuffix(bytes) else { return describe }
        // bytes[..<hash - 2] is everything before "-g".
        let beforeG = bytes[..<(hash - 2)]
        let hex = bytes[hash...]
        if dashes == 2 {
            // s/-g\([0-9a-f]\{14\}\)$/+\1/
            return string(beforeG) + "+" + string(hex)
        }
        // s/-\([0-9]\{1,\}\)-g\([0-9a-f]\{14\}\)$/.\1\+\2/
        guard let lastDash = beforeG.lastIndex(of: UInt8(ascii: "-")), lastDash + 1 < beforeG.endIndex,
            beforeG[(lastDash + 1)...].allSatisfy(isDigit)
        else { return describe }
        return string(beforeG[..<lastDash]) + "." + string(beforeG[(lastDash + 1)...]) + "+" + string(hex)
    }

    /// Major and minor as hack/lib/version.sh extracts them with
    /// `^v([0-9]+)\.([0-9]+)(\.[0-9]+)?([-].*)?([+].*)?$`; minor gets a `+` when a `-…` part follows.
    /// Nil when the version does not match.
    public static func majorMinor(of version: String) -> (major: String, minor: String)? {
        guard let parts = core(Array(version.utf8)) else { return nil }
        let rest = parts.rest
        guard rest.isEmpty || rest.first == UInt8(ascii: "-") || rest.first == UInt8(ascii: "+") else { return nil }
        let minor = parts.minor + (rest.first == UInt8(ascii: "-") ? "+" : "")
        return (parts.major, minor)
    }

    /// True when `version` matches Kubernetes' check
    /// `^v([0-9]+)\.([0-9]+)(\.[0-9]+)?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`.
    public static func isValid(_ version: String) -> Bool {
        guard let parts = core(Array(version.utf8)) else { return false }
        var rest = parts.rest[...]
        if rest.first == UInt8(ascii: "-") {
            let end = rest.firstIndex(of: UInt8(ascii: "+")) ?? rest.endIndex
            let pre = rest[(rest.startIndex + 1)..<end]
            guard !pre.isEmpty, pre.allSatisfy(isIdentifierByte) else { return false }
            rest = rest[end...]
        }
        if rest.first == UInt8(ascii: "+") {
            let build = rest.dropFirst()
            return !build.isEmpty && build.allSatisfy(isIdentifierByte)
        }
        return rest.isEmpty
    }

    /// True for `vMAJOR.MINOR[.PATCH][-PRERELEASE]`: what `kbuild cut` accepts (no build metadata).
    public static func isReleaseVersion(_ version: String) -> Bool {
        isValid(version) && !version.contains("+")
    }

    // MARK: - Helpers

    /// `v`, digits, `.`, digits, optionally `.` digits; the rest after that.
    private static func core(_ bytes: [UInt8]) -> (major: String, minor: String, rest: [UInt8])? {
        var index = 0
        guard bytes.first == UInt8(ascii: "v") else { return nil }
        index = 1
        func digits() -> ArraySlice<UInt8>? {
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            return index > start ? bytes[start..<index] : nil
        }
        guard let major = digits(), index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return nil }
        index += 1
        guard let minor = digits() else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            let dot = index
            index += 1
            if digits() == nil { index = dot }  // not a patch: leave the dot for the rest
        }
        return (string(major), string(minor), Array(bytes[index...]))
    }

    /// Index of the 14 hex digits when `bytes` ends with `-g` + 14 lowercase hex digits.
    private static func abbreviatedHashSuffix(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 16 else { return nil }
        let start = bytes.count - 14
        guard bytes[start - 2] == UInt8(ascii: "-"), bytes[start - 1] == UInt8(ascii: "g"),
            bytes[start...].allSatisfy(isLowerHex)
        else { return nil }
        return start
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isLowerHex(_ byte: UInt8) -> Bool { isDigit(byte) || (byte >= 0x61 && byte <= 0x66) }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    private static func string(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
