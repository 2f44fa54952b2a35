import FuzzSupport
import KbuildVersion

/// The describe rewriter, the version validator and major/minor extraction on arbitrary UTF-8.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    check(text)
    check(VersionRewriter.semver(fromDescribe: text))
    let rewritten = VersionRewriter.semver(fromDescribe: text)
    // A rewritten describe has at most one dash left, so rewriting again changes nothing.
    if VersionRewriter.semver(fromDescribe: rewritten) != rewritten {
        Fuzz.fail("semver(fromDescribe:) is not idempotent on \(text.debugDescription)")
    }
    return 0
}

/// The relations between the three predicates that the resolver relies on.
private func check(_ version: String) {
    let valid = VersionRewriter.isValid(version)
    let parts = VersionRewriter.majorMinor(of: version)
    if valid, parts == nil { Fuzz.fail("\(version.debugDescription) is valid but has no major/minor") }
    if VersionRewriter.isReleaseVersion(version), !valid {
        Fuzz.fail("\(version.debugDescription) is a release version but not valid")
    }
    if let parts {
        let digits = { (text: Substring) in !text.isEmpty && text.allSatisfy { ("0"..."9").contains($0) } }
        let minor = parts.minor.hasSuffix("+") ? parts.minor.dropLast() : Substring(parts.minor)
        guard digits(Substring(parts.major)), digits(minor), version.hasPrefix("v\(parts.major).\(minor)") else {
            Fuzz.fail("majorMinor(of: \(version.debugDescription)) = \(parts)")
        }
    }
}

@main enum FuzzVersion {
    static func main() { Fuzz.run { data, size in withInput(data, size, fuzz) } }
}
