import Foundation
import KbuildCore
import Yams

extension ReleaseConfig {
    /// The `cache` section: a shared remote cache consulted after `_output/cache`.
    public struct Cache: Sendable, Hashable, Codable {
        /// `cache.remote`: a Bazel HTTP remote cache (bazel-remote, nginx WebDAV, …); nil: local only.
        public var remote: RemoteCacheAddress?

        public init(remote: RemoteCacheAddress? = nil) {
            self.remote = remote
        }
    }
}

extension ConfigReader {
    func readCache(_ entry: Entry?) throws -> ReleaseConfig.Cache {
        let fields = try entry.map { try mapping($0.value, "cache", allowed: ["remote"]) } ?? [:]
        var cache = ReleaseConfig.Cache()
        if let given = fields["remote"], !isNull(given.value) {
            let text = try string(given.value, "cache.remote")
            switch RemoteCacheAddress.parse(text) {
            case .address(let address):
                cache.remote = address
            case .problem(let problem):
                throw fail(
                    given.value, "cache.remote",
                    "\"\(Self.escaped(URLSecrets.shown(text)))\": \(problem); allowed: \(RemoteCacheAddress.allowed)")
            }
        }
        return cache
    }

    /// `text` on one line: control characters as `\u{…}` escapes.
    static func escaped(_ text: String) -> String {
        String(
            text.unicodeScalars.map {
                $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0)
            }.joined())
    }
}
