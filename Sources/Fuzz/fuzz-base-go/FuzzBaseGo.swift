import FuzzSupport
import KbuildVersion

/// The base.go parser on arbitrary text, and `settingVersion` → parse round trips.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let file = try? BaseFile.parse(text, path: "base.go"), file.gitVersion != nil else { return 0 }
    // Stamping any version into a file that parses keeps every other definition and reads back exactly.
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    for version in ["v1.2.3-fuzz", String(lines.last ?? ""), text] {
        let stamped: String
        do {
            stamped = try BaseFile.settingVersion(version, in: text, path: "base.go")
        } catch {
            Fuzz.fail("settingVersion failed on a file that parses: \(error)")
        }
        guard let again = try? BaseFile.parse(stamped, path: "base.go") else {
            Fuzz.fail(
                "stamping \(version.debugDescription) gave a file that does not parse: \(stamped.debugDescription)")
        }
        guard again.gitVersion == version, again.gitCommit == file.gitCommit, again.gitTreeState == file.gitTreeState
        else {
            Fuzz.fail("stamping \(version.debugDescription) read back as \(again.definitions)")
        }
    }
    return 0
}

@main enum FuzzBaseGo {
    static func main() { Fuzz.run { data, size in withInput(data, size, fuzz) } }
}
