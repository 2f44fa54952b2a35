import Foundation

/// A user name and password (or token) for Basic auth. Never printed: its description is redacted,
/// and no error of this module carries one.
public struct Credential: Sendable, Hashable, CustomStringConvertible {
    public let username: String
    public let password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "<credential for \(username.isEmpty ? "?" : "a user")>" }

    /// `Basic <base64(user:password)>`.
    var basicAuthorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }
}

/// Registry credentials from the files users already have, in the order podman, skopeo and buildah
/// read them: `REGISTRY_AUTH_FILE` (else `${XDG_RUNTIME_DIR}/containers/auth.json`),
/// `~/.config/containers/auth.json`, then Docker's `config.json` (`$DOCKER_CONFIG` or `~/.docker`).
/// Only `auths` entries are read; credential helpers (`credHelpers`, `credsStore`) are not run.
public enum ContainerAuthFiles {
    /// The files looked at, in order, for `environment`.
    public static func files(environment: [String: String]) -> [String] {
        var files: [String] = []
        if let explicit = environment["REGISTRY_AUTH_FILE"], !explicit.isEmpty {
            files.append(explicit)
        } else if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            files.append(runtime + "/containers/auth.json")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        files.append(
            (environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config")
                + "/containers/auth.json")
        files.append(
            (environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.docker") + "/config.json")
        return files
    }

    /// The credential for `host` (`host[:port]`) from the first file with an entry for it; nil when none has.
    public static func credential(for host: String, environment: [String: String]) throws(PublishError)
        -> Credential?
    {
        for file in files(environment: environment) {
            guard let data = try read(file) else { continue }
            if let found = try credential(for: host, in: data, file: file) { return found }
        }
        return nil
    }

    /// The entry for `host` in one auth file's bytes. Keys may be spelled `host`, `https://host`,
    /// `http://host/v1/` (Docker's old form): they are compared by host.
    static func credential(for host: String, in data: Data, file: String) throws(PublishError) -> Credential? {
        struct Entry: Decodable { var auth: String? }
        struct AuthFile: Decodable { var auths: [String: Entry]? }
        let parsed: AuthFile
        do {
            parsed = try JSONDecoder().decode(AuthFile.self, from: data)
        } catch {
            throw .credentials(file: file, reason: "not a JSON auth file")
        }
        for (key, entry) in (parsed.auths ?? [:]).sorted(by: { $0.key < $1.key }) where normalized(key) == host {
            guard let auth = entry.auth, let decoded = Data(base64Encoded: auth),
                let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                // The entry itself is never echoed: it is the secret.
                throw .credentials(
                    file: file, reason: "the \"auth\" of the entry for \(host) is not base64 of user:password")
            }
            return Credential(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        }
        return nil
    }

    static func normalized(_ key: String) -> String {
        var text = Substring(key)
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        return String(text.prefix { $0 != "/" }).lowercased()
    }

    /// The file's bytes (bounded), or nil when it does not exist. A symlink is followed here: the
    /// user's own files commonly are links into a secrets mount.
    static func read(_ file: String) throws(PublishError) -> Data? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw .credentials(file: file, reason: "cannot be read")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        return data
    }
}
