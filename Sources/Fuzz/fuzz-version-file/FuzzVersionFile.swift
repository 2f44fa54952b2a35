import FuzzSupport
import KbuildVersion

/// The KUBE_GIT_VERSION_FILE parser on arbitrary text, and render → parse round trips.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let variables = try VersionFile.parse(text, path: "fuzz.version")
        // What parses must survive being written back and read again.
        let again = try VersionFile.parse(VersionFile.render(variables), path: "rendered")
        if again != variables { Fuzz.fail("render/parse changed \(variables) into \(again)") }
    } catch {
        if case .syntax(_, let line, _) = error, line < 1 { Fuzz.fail("error on line \(line): \(error)") }
    }
    // Any single-line printable-ASCII value (what kbuild itself renders after validation) round-trips.
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
        let value = text.isEmpty ? nil : text
        let variables = VersionVariables(commit: value, version: value)
        do {
            let again = try VersionFile.parse(VersionFile.render(variables), path: "rendered")
            if again != variables {
                Fuzz.fail("value \(text.debugDescription) read back as \(again)")
            }
        } catch {
            Fuzz.fail("rendered value \(text.debugDescription) does not parse: \(error)")
        }
    }
    return 0
}

@main enum FuzzVersionFile {
    static func main() { Fuzz.run { data, size in withInput(data, size, fuzz) } }
}
