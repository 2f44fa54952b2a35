import Foundation
import KbuildDigest
import TestSupport
import Testing

/// Ed25519 keys through libcrypto, checked against the openssl CLI.
@Suite struct Ed25519Tests {
    @Test func signsWhatOpensslVerifiesAndTheKeyIDIsTheDERDigest() async throws {
        let dir = try TemporaryDirectory("kbuild-ed25519")
        defer { dir.remove() }
        let keyPath = dir.appending("key.pem")
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyPath])
        try await Tool.check("openssl", ["pkey", "-in", keyPath, "-pubout", "-out", dir.appending("key.pub")])
        let key = try Ed25519PrivateKey(pemFile: keyPath)

        let message = Data("a8f5f167f44f4964e6c998dee827110c  kubernetes.tar.gz\n".utf8)
        try message.write(to: URL(fileURLWithPath: dir.appending("SUMS")))
        let signature = try key.sign(message)
        #expect(signature.count == 64)
        #expect(try key.sign(message) == signature)
        try Data(signature).write(to: URL(fileURLWithPath: dir.appending("SUMS.sig")))
        try await SupplyChainValidators.verifyRaw(
            signature: dir.appending("SUMS.sig"), of: dir.appending("SUMS"), publicKeyPEM: dir.appending("key.pub"))
        // openssl's own signature is byte-identical (Ed25519 signatures are deterministic).
        try await Tool.check(
            "openssl",
            [
                "pkeyutl", "-sign", "-rawin", "-inkey", keyPath, "-in", dir.appending("SUMS"), "-out",
                dir.appending("openssl.sig"),
            ])
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.appending("openssl.sig")))) == signature)

        let der = try await Tool.run(
            "/bin/sh", ["-c", "openssl pkey -in key.pem -pubout -outform DER | sha256sum"], in: dir.path)
        #expect(der.stdout.prefix(64) == key.publicKey.keyID)
        let loaded = try Ed25519PublicKey(pemFile: dir.appending("key.pub"))
        #expect(loaded == key.publicKey)
        #expect(try String(contentsOfFile: dir.appending("key.pub"), encoding: .utf8) == key.publicKey.pem)
        #expect(loaded.verify(signature: signature, of: message))
        #expect(!loaded.verify(signature: signature, of: message + Data("x".utf8)))
    }

    @Test func refusesMissingForeignAndEncryptedKeysWithOneLine() async throws {
        let dir = try TemporaryDirectory("kbuild-ed25519-bad")
        defer { dir.remove() }
        try await Tool.check(
            "openssl",
            ["genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024", "-out", dir.appending("rsa.pem")])
        try await Tool.check(
            "openssl",
            [
                "genpkey", "-algorithm", "ed25519", "-aes-128-cbc", "-pass", "pass:secret", "-out",
                dir.appending("locked.pem"),
            ])
        try "not a key\n".write(toFile: dir.appending("junk.pem"), atomically: true, encoding: .utf8)
        // A FIFO is named (opened non-blocking, never read); a public key says the private one is needed.
        #expect(mkfifo(dir.appending("key.fifo"), 0o600) == 0)
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", dir.appending("ed.pem")])
        try await Tool.check(
            "openssl", ["pkey", "-in", dir.appending("ed.pem"), "-pubout", "-out", dir.appending("ed.pub")])
        let cases: [(String, String)] = [
            (dir.appending("missing.pem"), "cannot read the key: No such file or directory"),
            (dir.path, "is a directory"),
            (dir.appending("key.fifo"), "is a FIFO"),
            (dir.appending("ed.pub"), "is a public key; signing needs the private key"),
            (dir.appending("rsa.pem"), "a RSA private key, not Ed25519"),
            (dir.appending("locked.pem"), "the private key is protected by a passphrase"),
            (dir.appending("junk.pem"), "not a PEM key libcrypto can read"),
        ]
        // A public key that is not Ed25519 says what a public key must be.
        try await Tool.check(
            "openssl", ["pkey", "-in", dir.appending("rsa.pem"), "-pubout", "-out", dir.appending("rsa.pub")])
        #expect(
            throws: DigestError.key(
                path: dir.appending("rsa.pub"), problem: "a RSA public key, not Ed25519",
                allowed: Ed25519PublicKey.allowed)
        ) { try Ed25519PublicKey(pemFile: dir.appending("rsa.pub")) }
        for (path, problem) in cases {
            do {
                _ = try Ed25519PrivateKey(pemFile: path)
                Issue.record("\(path) accepted")
            } catch {
                let text = error.description
                #expect(text.hasPrefix("\(path): \(problem)"), "\(text)")
                #expect(
                    text.hasSuffix(
                        "; allowed: an unencrypted Ed25519 private key in PEM (openssl genpkey -algorithm ed25519)"))
                #expect(!text.contains("\n"))
            }
        }
    }

    @Test func verifiesWhatOpensslSigned() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await Tool.check("openssl", ["genpkey", "-algorithm", "ed25519", "-out", "key.pem"], in: dir.path)
        try await Tool.check("openssl", ["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"], in: dir.path)
        try writeFile(dir.appending("msg"), "a message\n")
        try await Tool.check(
            "openssl", ["pkeyutl", "-sign", "-rawin", "-inkey", "key.pem", "-in", "msg", "-out", "msg.sig"],
            in: dir.path)
        let key = try Ed25519PublicKey(pemFile: dir.appending("pub.pem"))
        let signature = try Array(Data(contentsOf: URL(fileURLWithPath: dir.appending("msg.sig"))))
        #expect(key.verify(signature: signature, of: Array("a message\n".utf8)))
        #expect(!key.verify(signature: signature, of: Array("a massage\n".utf8)))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!key.verify(signature: flipped, of: Array("a message\n".utf8)))
    }
}
