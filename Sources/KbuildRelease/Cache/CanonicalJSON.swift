import Foundation
import KbuildDigest

/// The one JSON encoding of values kbuild hashes or writes for tools to read: sorted keys, two-space
/// indentation, slashes unescaped, a final newline. The same value gives the same bytes, so their
/// sha256 names the value (plan digests, cache keys).
enum CanonicalJSON {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The hex sha256 of the value's canonical JSON.
    static func sha256(_ value: some Encodable) throws -> String {
        Digest.of(try encode(value), .sha256).hex
    }
}
