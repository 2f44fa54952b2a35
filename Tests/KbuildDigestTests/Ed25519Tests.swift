import Foundation
import KbuildDigest
import TestSupport
import Testing

/// Ed25519 verification against signatures made by the openssl command line.
@Suite struct Ed25519Tests {
    @Test func verifiesWhatOpensslSigned() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", "key.pem"], in: dir.path)
        try await Tool.check("openssl", ["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"], in: dir.path)
        try "a message\n".write(toFile: dir.appending("msg"), atomically: true, encoding: .utf8)
        try await Tool.check(
            "openssl", ["pkeyutl", "-sign", "-rawin", "-inkey", "key.pem", "-in", "msg", "-out", "msg.sig"], in: dir.path)
        let key = try Ed25519PublicKey(file: dir.appending("pub.pem"))
        let signature = try Array(Data(contentsOf: URL(fileURLWithPath: dir.appending("msg.sig"))))
        #expect(key.verify(signature: signature, message: Array("a message\n".utf8)))
        #expect(!key.verify(signature: signature, message: Array("a massage\n".utf8)))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!key.verify(signature: flipped, message: Array("a message\n".utf8)))
    }

    @Test func refusesOtherKeysWithOneLine() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", "key.pem"], in: dir.path)
        try await Tool.check("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem"], in: dir.path)
        try await Tool.check("openssl", ["pkey", "-in", "ec.pem", "-pubout", "-out", "ecpub.pem"], in: dir.path)
        for (file, words) in [
            ("key.pem", "a PEM PRIVATE KEY found"), ("ecpub.pem", "not an Ed25519 key"), ("missing.pem", "cannot read the key file"),
        ] {
            #expect {
                _ = try Ed25519PublicKey(file: dir.appending(file))
            } throws: { error in
                let text = "\(error)"
                return text.contains(words) && !text.contains("\n")
            }
        }
    }
}
