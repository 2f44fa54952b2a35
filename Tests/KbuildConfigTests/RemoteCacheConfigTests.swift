import Foundation
import KbuildConfig
import TestSupport
import Testing

/// `cache.remote` and the address rules shared with `--remote-cache` / `KBUILD_REMOTE_CACHE`.
@Suite("Remote cache config")
struct RemoteCacheConfigTests {
    @Test(arguments: [
        ("http://cache.example.com", "http://cache.example.com"),
        ("HTTPS://Cache.Example.com:9092/", "https://cache.example.com:9092"),
        ("http://127.0.0.1:8080/pool/kbuild//", "http://127.0.0.1:8080/pool/kbuild"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://cache:1", "http://cache:1"),
        ("http://cache:65535", "http://cache:65535"),
    ])
    func validAddressesAreNormalized(text: String, normalized: String) {
        #expect(address(text)?.url == normalized)
    }

    @Test(arguments: [
        ("", "empty"),
        ("cache.example.com", "no scheme"),
        ("ftp://cache", "scheme ftp is not supported"),
        ("http://", "no host"),
        ("http://:8080", "no host"),
        ("http://cache:0", "port 0 is not in 1-65535"),
        ("http://cache:65536", "port 65536 is not in 1-65535"),
        ("http://cache:", "port (empty) is not in 1-65535"),
        ("http://cache:80x", "port 80x is not in 1-65535"),
        ("http://user:secret@cache", "credentials in the URL are not supported"),
        ("http://cache/path?x=1", "has a query or fragment"),
        ("http://ca che", "contains spaces"),
        ("http://cache\n", "contains spaces, control"),
        ("http://ca$he", "is not a host name"),
        ("http://[::1", "unterminated IPv6"),
    ])
    func invalidAddressesSayWhy(text: String, problem: String) {
        guard case .problem(let reason) = RemoteCacheAddress.parse(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(reason.contains(problem), "\(reason)")
        #expect(!reason.contains("\n"))
    }

    @Test func configKeyIsReadAndValidated() throws {
        let workspace = try Workspace()
        let binaries = "binaries:\n  - name: foo\n    kinds: [client]\n"
        #expect(try workspace.load(binaries).cache.remote == nil)
        #expect(try workspace.load(binaries + "cache:\n  remote: null\n").cache.remote == nil)
        let config = try workspace.load(binaries + "cache:\n  remote: https://cache.example.com:9092/kbuild/\n")
        #expect(config.cache.remote?.url == "https://cache.example.com:9092/kbuild")

        try workspace.expectError(
            binaries + "cache:\n  remote: ftp://cache\n", line: 5, column: 11, field: "cache.remote",
            "\"ftp://cache\": scheme ftp is not supported; allowed: http://HOST[:PORT][/PATH]")
        try workspace.expectError(
            binaries + "cache:\n  remote: [a]\n", line: 5, column: 11, field: "cache.remote", "expected a string")
        try workspace.expectError(
            binaries + "cache:\n  remot: http://x\n", line: 5, column: 3, field: "cache.remot",
            "unknown key \"remot\" in cache; allowed: remote")
    }

    func address(_ text: String) -> RemoteCacheAddress? {
        if case .address(let address) = RemoteCacheAddress.parse(text) { return address }
        return nil
    }
}
