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

/// Credentials for an HTTP server kbuild writes to (the upload target, the shared cache): a token
/// variable (sent as Bearer) or the netrc entry for its host (`$NETRC`, else `~/.netrc`;
/// `machine`/`default`, `login`, `password`), sent as Basic, as curl's `--netrc` does.
public enum UploadCredentials {
    /// The upload target's token variable.
    public static let tokenVariable = "KBUILD_UPLOAD_TOKEN"
    /// The shared cache's token variable.
    public static let cacheTokenVariable = "KBUILD_REMOTE_CACHE_TOKEN"

    /// The Authorization value for `host`, or nil when there is none.
    public static func authorization(
        for host: String, environment: [String: String], tokenVariable: String = tokenVariable
    ) throws(PublishError) -> String? {
        if let token = environment[tokenVariable], !token.isEmpty { return "Bearer " + token }
        let file =
            environment["NETRC"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.netrc"
        guard let data = try ContainerAuthFiles.read(file) else { return nil }
        return netrc(String(decoding: data, as: UTF8.self), host: host)?.basicAuthorization
    }

    /// The entry for `host` (a `machine` entry, else `default`) in netrc text.
    static func netrc(_ text: String, host: String) -> Credential? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
            .map(String.init)
        var entries: [(machine: String?, login: String, password: String)] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            guard word == "machine" || word == "default" else {
                index += 1
                continue
            }
            var entry: (machine: String?, login: String, password: String) = (nil, "", "")
            if word == "machine", index + 1 < words.count {
                entry.machine = words[index + 1]
                index += 1
            }
            index += 1
            while index + 1 < words.count, words[index] != "machine", words[index] != "default" {
                if words[index] == "login" { entry.login = words[index + 1] }
                if words[index] == "password" { entry.password = words[index + 1] }
                index += 2
            }
            entries.append(entry)
        }
        let bare = String(host.prefix { $0 != ":" })
        let found = entries.first { $0.machine == host || $0.machine == bare } ?? entries.first { $0.machine == nil }
        return found.map { Credential(username: $0.login, password: $0.password) }
    }
}
