import Foundation
import KbuildCore

extension RegistryClient {
    /// A client of `host` as `--tls-verify` and `--ca-file` ask: https, its certificate checked against the
    /// system's CAs and the CA file; with `verify` false (skopeo's `--tls-verify=false`), https unchecked
    /// when the host answers TLS, else plain http (a local test registry).
    public static func connecting(host: String, tls: TLSOptions, credential: Credential?) async throws
        -> RegistryClient
    {
        var plain = false
        if !tls.verify {
            plain = await Blocking.run {
                let probe = HTTPTransport(tls: tls, connectTimeout: 10, connections: 0)
                guard let url = URL(string: "https://\(host)/v2/") else { return true }
                if case .success = probe.send("GET", url, headers: [:], body: HTTPTransport.Body.none) { return false }
                return true
            }
        }
        return RegistryClient(host: host, plainHTTP: plain, credential: credential, tls: tls)
    }
}
