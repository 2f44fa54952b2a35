import Foundation
import KbuildDigest
import KbuildPublish
import KbuildRelease

/// What a run under GitHub Actions (`GITHUB_ACTIONS=true`) adds: `::error file=…,line=…,col=…::`
/// annotations (the workflow-command syntax, escaped as the runner expects) and a Markdown summary
/// appended to `$GITHUB_STEP_SUMMARY`.
struct GitHubActions: Sendable {
    /// Where the checkout is (`GITHUB_WORKSPACE`): annotation paths are relative to it.
    let checkout: String?
    /// `$GITHUB_STEP_SUMMARY`, if set.
    let summaryFile: String?
    /// JSON lines own stdout: annotations then go to stderr, which the runner reads too.
    let toStandardError: Bool

    init?(environment: [String: String], json: Bool = false) {
        guard environment["GITHUB_ACTIONS"] == "true" else { return nil }
        checkout = environment["GITHUB_WORKSPACE"].flatMap { $0.isEmpty ? nil : $0 }
        summaryFile = environment["GITHUB_STEP_SUMMARY"].flatMap { $0.isEmpty ? nil : $0 }
        toStandardError = json
    }

    /// `::<level> file=…,line=…,col=…::<message>`; without a location, `::<level>::<message>`.
    func annotate(_ level: String, message: String, location: ErrorLocation?) {
        var properties: [String] = []
        if let location {
            properties.append("file=" + Self.escapeProperty(path(location.file)))
            if let line = location.line { properties.append("line=\(line)") }
            if let column = location.column { properties.append("col=\(column)") }
        }
        let head = properties.isEmpty ? "::\(level)" : "::\(level) " + properties.joined(separator: ",")
        let line = Data((head + "::" + Self.escapeData(message) + "\n").utf8)
        (toStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(line)
    }

    /// Appends what was released, one table row per file with its sha256.
    func summarize(release version: String, project: String, artifacts: [Artifact], command: String) {
        var text = "### kbuild \(command): \(project) \(version)\n\n"
        text += "| File | Kind | Platform | Size | SHA-256 |\n|---|---|---|---:|---|\n"
        for artifact in artifacts.sorted(by: { $0.path < $1.path }) {
            let platform = artifact.os.map { "\($0)/\(artifact.arch ?? "")" } ?? ""
            let name = artifact.image.map { "\(artifact.name) (`\(Self.cell($0))`)" } ?? artifact.name
            text +=
                "| \(Self.cell(name)) | \(artifact.kind.rawValue) | \(platform) | \(artifact.size) | `\(artifact.sha256)` |\n"
        }
        append(text + "\n")
    }

    /// What a publish sent: the images by name and digest, the files by URL and sha256.
    struct PublishSummary {
        var host = ""
        var images: [ImagePublication] = []
        var files: [(url: String, path: String)] = []
    }

    /// Appends what was published: each image's index and per-architecture manifests, then each file.
    func summarize(publish summary: PublishSummary, command: String) {
        var text = "### kbuild \(command): published\n\n"
        if !summary.images.isEmpty {
            text += "| Image | Platform | Digest |\n|---|---|---|\n"
            for publication in summary.images {
                text +=
                    publication.references(host: summary.host).map {
                        "| `\(Self.cell($0))` | index | `\(publication.indexDigest)` |\n"
                    }.joined()
                for image in publication.images {
                    let platform = [image.platform.os, image.platform.architecture, image.platform.variant]
                        .compactMap { $0 }.joined(separator: "/")
                    text +=
                        "| `\(Self.cell(summary.host + "/" + publication.repository))` | \(platform) | `\(image.manifestDigest)` |\n"
                }
            }
            text += "\n"
        }
        if !summary.files.isEmpty {
            text += "| File | SHA-256 |\n|---|---|\n"
            for file in summary.files {
                let digest = (try? Digest.file(file.path, .sha256).hex) ?? "unreadable"
                text += "| \(Self.cell(file.url)) | `\(digest)` |\n"
            }
            text += "\n"
        }
        append(text)
    }

    /// Appends that the run failed, and why.
    func summarize(failure message: String, command: String) {
        append("### kbuild \(command) failed\n\n```\n\(message)\n```\n\n")
    }

    private func append(_ text: String) {
        guard let summaryFile else { return }
        // Appended, never replaced: earlier steps of the job wrote theirs. O_NOFOLLOW: the runner makes it a file.
        let fd = open(summaryFile, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            FileHandle.standardError.write(
                Data("warning: GITHUB_STEP_SUMMARY: cannot append: \(String(cString: strerror(errno)))\n".utf8))
            return
        }
        defer { close(fd) }
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    private func path(_ file: String) -> String {
        guard let checkout, file.hasPrefix(checkout + "/") else { return file }
        return String(file.dropFirst(checkout.count + 1))
    }

    /// A Markdown table cell: a `|` would end it, a newline the row.
    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// The runner's escapes for a command's message.
    static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    /// And for a property value, where `:` and `,` separate.
    static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
