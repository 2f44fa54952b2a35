import Foundation

/// The one JSON encoding of values kbuild hashes or writes for tools to read: sorted keys, two-space
/// indentation, slashes unescaped, a final newline. The same value gives the same bytes, so their
/// sha256 names the value (plan digests, cache keys of the release steps and the version-variable check).
public enum CanonicalJSON {
    public static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The hex sha256 of the value's canonical JSON.
    public static func sha256(_ value: some Encodable) throws -> String {
        Digest.of(try encode(value), .sha256).hex
    }
}
