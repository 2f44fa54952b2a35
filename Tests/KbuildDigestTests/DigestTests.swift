import Foundation
import KbuildDigest
import TestSupport
import Testing

@Suite struct DigestTests {
    @Test func fileDigestsMatchCoreutils() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.appending("blob")
        // 3 MiB + 17 bytes of varied content: crosses the 1 MiB read size.
        let bytes = pseudoRandomBytes(count: 3 << 20 + 17)
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        for (algorithm, tool) in [(DigestAlgorithm.md5, "md5sum"), (.sha256, "sha256sum"), (.sha512, "sha512sum")] {
            let expected = try await Tool.check(tool, [file]).split(separator: " ").first.map(String.init)
            #expect(try Digest.file(file, algorithm).hex == expected, "\(algorithm)")
        }
        let checksums = try Checksums.file(file)
        #expect(checksums.sha256 == Digest.of(bytes, .sha256))
        #expect(checksums.sha512 == Digest.of(bytes, .sha512))
    }

    /// Cache keys: length-prefixed parts, the same bytes whether or not they cross a 64 KiB batch, checked
    /// against sha256sum of the spelled-out form.
    @Test func partsAreLengthPrefixed() async throws {
        #expect(Digest.ofParts(["a", "bc"], .sha256) != Digest.ofParts(["ab", "c"], .sha256))
        let parts = ["kbuild", "", "é"] + (0..<3000).map { "third_party/blobs/d\($0)/f00 \($0 * 7)" }
        let spelled = parts.map { "\($0.utf8.count):\($0)" }.joined()
        #expect(spelled.utf8.count > 1 << 16)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try spelled.write(toFile: dir.appending("parts"), atomically: false, encoding: .utf8)
        let tool = try await Tool.check("sha256sum", [dir.appending("parts")])
        #expect(Digest.ofParts(parts, .sha256).hex == String(tool.prefix(64)))
    }

    @Test func emptyInputAndDescription() {
        let digest = Digest.of([UInt8](), .sha256)
        #expect(digest.description == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: DigestError.self) { try Digest.file("/nonexistent/kbuild", .md5) }
    }
}
