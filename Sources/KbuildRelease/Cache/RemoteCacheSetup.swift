import Foundation
import KbuildConfig
import KbuildCore
import KbuildPublish
import KbuildRemote

/// Where the remote cache setting comes from: `--remote-cache`, else `KBUILD_REMOTE_CACHE`, else
/// `cache.remote` of the release config; `off` (flag or variable) means none.
public enum RemoteCacheSetup {

    /// The run's remote cache, or nil when none is set. Throws a one-line error for a bad value.
    public static func resolve(
        flag: String?, uploadFlag: Bool?, environment: [String: String], config: ReleaseConfig.Cache,
        warn: @escaping @Sendable (String) -> Void
    ) throws -> RemoteCache? {
        let address: RemoteCacheAddress
        if let (culprit, text) = flag.map({ ("--remote-cache", $0) })
            ?? environment["KBUILD_REMOTE_CACHE"].flatMap({ $0.isEmpty ? nil : ("KBUILD_REMOTE_CACHE", $0) })
        {
            if text == "off" { return nil }
            switch RemoteCacheAddress.parse(text) {
            case .address(let parsed): address = parsed
            case .problem(let problem):
                // Redacted: a refused URL with user:password@ or ?token= must not print the secret.
                throw ReleaseError.invalidSetting(
                    culprit: culprit, value: URLSecrets.shown(text), problem: problem,
                    allowed: RemoteCacheAddress.allowed + ", or off")
            }
        } else if let configured = config.remote {
            address = configured
        } else {
            return nil
        }
        var upload = true
        if let uploadFlag {
            upload = uploadFlag
        } else if let text = environment["KBUILD_REMOTE_CACHE_UPLOAD"], !text.isEmpty {
            guard let value = ["true": true, "1": true, "false": false, "0": false][text.lowercased()] else {
                throw ReleaseError.invalidSetting(
                    culprit: "KBUILD_REMOTE_CACHE_UPLOAD", value: text, problem: "not a boolean",
                    allowed: "true, false, 1, 0")
            }
            upload = value
        }
        var timeout = 30
        if let text = environment["KBUILD_REMOTE_CACHE_TIMEOUT"], !text.isEmpty {
            // Whole seconds: URLSession on Linux drops fractions (0.5 would mean no wait at all).
            guard let seconds = Int(text), seconds >= 1, seconds <= 600 else {
                throw ReleaseError.invalidSetting(
                    culprit: "KBUILD_REMOTE_CACHE_TIMEOUT", value: text,
                    problem: "not a whole number of seconds in 1-600",
                    allowed: "e.g. 30")
            }
            timeout = seconds
        }
        var cap: Int64 = 2 << 30
        if let text = environment["KBUILD_REMOTE_CACHE_MAX_BYTES"], !text.isEmpty {
            guard let bytes = Self.byteCount(text), bytes >= 1 else {
                throw ReleaseError.invalidSetting(
                    culprit: "KBUILD_REMOTE_CACHE_MAX_BYTES", value: text, problem: "not a size in bytes",
                    allowed: "a whole number of bytes, or with K, M or G (binary units), e.g. 2G")
            }
            cap = bytes
        }
        // Credentials as for kbuild publish's upload target: a token variable, else netrc for the host.
        let components = URLComponents(string: address.url)
        let host = components?.host.map { host in components?.port.map { "\(host):\($0)" } ?? host }
        let authorization = try host.flatMap {
            try UploadCredentials.authorization(
                for: $0, environment: environment, tokenVariable: UploadCredentials.cacheTokenVariable)
        }
        let client = RemoteCacheClient(
            base: address.url, timeout: Double(timeout), maxBlobBytes: cap, authorization: authorization)
        return RemoteCache(client: client, upload: upload, warn: warn)
    }

    /// `123`, `512K`, `300M`, `2G` (binary units) as bytes; nil for anything else or an overflow.
    static func byteCount(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(text)
        var scale: Int64 = 1
        if let last = text.last, let unit = units[last] {
            digits = digits.dropLast()
            scale = unit
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = Int64(digits) else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }
}
