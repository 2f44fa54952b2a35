import Foundation
import KbuildConfig
import KbuildRelease
import KbuildRemote
import Testing

/// Where the remote cache setting comes from: flag, then environment, then config; `off` means none.
@Suite struct RemoteCacheSetupTests {
    func address(_ text: String) -> RemoteCacheAddress? {
        if case .address(let address) = RemoteCacheAddress.parse(text) { return address }
        return nil
    }

    func resolve(
        flag: String? = nil, upload: Bool? = nil, _ environment: [String: String] = [:],
        config: String? = "http://config:1"
    ) throws -> RemoteCache? {
        try RemoteCacheSetup.resolve(
            flag: flag, uploadFlag: upload, environment: environment,
            config: ReleaseConfig.Cache(remote: config.flatMap(address)), warn: { _ in })
    }

    @Test func flagBeatsEnvironmentBeatsConfig() throws {
        #expect(try resolve(config: nil) == nil)
        #expect(try resolve()?.client.base == "http://config:1")
        #expect(try resolve(["KBUILD_REMOTE_CACHE": "http://env:2/"])?.client.base == "http://env:2")
        #expect(try resolve(["KBUILD_REMOTE_CACHE": ""])?.client.base == "http://config:1")
        #expect(
            try resolve(flag: "https://flag:3", ["KBUILD_REMOTE_CACHE": "http://env:2"])?.client.base
                == "https://flag:3")
        #expect(try resolve(flag: "off", ["KBUILD_REMOTE_CACHE": "http://env:2"]) == nil)
        #expect(try resolve(["KBUILD_REMOTE_CACHE": "off"]) == nil)
    }

    @Test func uploadsAndTimeout() throws {
        #expect(try resolve()?.upload == true)
        #expect(try resolve()?.client.timeout == 30)
        #expect(try resolve(["KBUILD_REMOTE_CACHE_UPLOAD": "false"])?.upload == false)
        #expect(try resolve(["KBUILD_REMOTE_CACHE_UPLOAD": "0"])?.upload == false)
        #expect(try resolve(upload: true, ["KBUILD_REMOTE_CACHE_UPLOAD": "false"])?.upload == true)
        #expect(try resolve(upload: false)?.upload == false)
        #expect(try resolve(["KBUILD_REMOTE_CACHE_TIMEOUT": "12"])?.client.timeout == 12)
        #expect(try resolve()?.client.maxBlobBytes == 2 << 30)
        #expect(try resolve(["KBUILD_REMOTE_CACHE_MAX_BYTES": "300M"])?.client.maxBlobBytes == 300 << 20)
        #expect(try resolve(["KBUILD_REMOTE_CACHE_MAX_BYTES": "4096"])?.client.maxBlobBytes == 4096)
    }

    @Test func badValuesAreOneLineErrorsNamingTheCulprit() {
        let cases: [(String?, [String: String], String)] = [
            (
                "ftp://x", [:],
                "--remote-cache \"ftp://x\": scheme ftp is not supported; allowed: http://HOST[:PORT][/PATH]"
            ),
            (nil, ["KBUILD_REMOTE_CACHE": "http://a b"], "KBUILD_REMOTE_CACHE \"http://a b\": contains spaces"),
            (nil, ["KBUILD_REMOTE_CACHE": "http://x\n"], "KBUILD_REMOTE_CACHE \"http://x\\n\": contains spaces"),
            (
                nil, ["KBUILD_REMOTE_CACHE_UPLOAD": "no"],
                "KBUILD_REMOTE_CACHE_UPLOAD \"no\": not a boolean; allowed: true, false, 1, 0"
            ),
            (
                nil, ["KBUILD_REMOTE_CACHE_TIMEOUT": "0"],
                "KBUILD_REMOTE_CACHE_TIMEOUT \"0\": not a whole number of seconds in 1-600"
            ),
            (
                nil, ["KBUILD_REMOTE_CACHE_MAX_BYTES": "2T"],
                "KBUILD_REMOTE_CACHE_MAX_BYTES \"2T\": not a size in bytes; allowed: a whole number of bytes, or with K, M or G"
            ),
            (
                nil, ["KBUILD_REMOTE_CACHE_MAX_BYTES": "99999999999999999G"],
                "KBUILD_REMOTE_CACHE_MAX_BYTES \"99999999999999999G\": not a size in bytes"
            ),
        ]
        for (flag, environment, expected) in cases {
            do {
                _ = try resolve(flag: flag, environment)
                Issue.record("accepted \(environment) \(flag ?? "")")
            } catch {
                let text = "\(error)"
                #expect(text.hasPrefix(expected), "\(text)")
                #expect(!text.contains("\n"))
            }
        }
    }
}
