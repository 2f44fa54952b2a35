import ArgumentParser
import Foundation
import KbuildConfig
import KbuildCore
import KbuildDigest
import KbuildGo
import KbuildProof
import KbuildPublish
import KbuildRelease
import KbuildVerify
import Synchronization

/// Everything a command that works says while it runs: progress, steps, files, warnings and its
/// error, as lines for people or as JSON events (`--log-format json`, docs/log-format.md), plus
/// GitHub Actions' annotations and step summary. Events arrive from several tasks at once.
final class Reporter: Sendable {
    /// The schema version of `--log-format json` (docs/log-format.schema.json).
    static let logSchema = 1

    let command: String
    let workspace: String
    let verbose: Bool
    let json: Bool
    let display: ProgressDisplay
    let github: GitHubActions?
    private let built = Mutex((done: 0, total: 0))

    init(
        command: String, workspace: String, verbose: Bool, json: Bool, style: ProgressDisplay.Style,
        github: GitHubActions?
    ) {
        self.command = command
        self.workspace = workspace
        self.verbose = verbose
        self.json = json
        self.github = github
        let render: @Sendable (WorkProgress, Int) -> String
        if json {
            render = { progress, elapsed in
                Self.jsonLine(command: command, "progress", Self.fields(of: progress, elapsed: elapsed))
            }
        } else {
            render = { progress, elapsed in Self.text(progress, elapsed: elapsed) }
        }
        self.display = ProgressDisplay(style: style, render: render)
    }

    /// How many binaries the plan builds, for the `[n/N]` counter of the live display.
    func expect(builds: Int) { built.withLock { $0 = (0, builds) } }

    /// One event of the pipeline.
    func handle(_ event: ReleaseEvent) {
        switch event {
        case .build(.progress(let progress)), .progress(let progress):
            display.update(progress)
        case .build(.finished(let target, let seconds)):
            let (done, total) = built.withLock { counts in
                counts.done += 1
                return (counts.done, counts.total)
            }
            if json {
                emit("binary-built", binaryFields(target).merging(["duration_ms": Self.milliseconds(seconds)]) { $1 })
            } else {
                let live = if case .live = display.style { true } else { false }
                let counter = live && total > 0 ? "[\(done)/\(total)] " : ""
                say("\(counter)built \(target.platform) \(target.binary) (\(Self.oneDecimal(seconds))s)")
            }
        case .buildReused(let target):
            built.withLock { $0.done += 1 }
            if json {
                emit("binary-reused", binaryFields(target))
            } else if verbose {
                say("up to date: \(target.platform) \(target.binary)")
            }
        default:
            json ? handleJSON(event) : handleText(event)
        }
    }

    private func handleText(_ event: ReleaseEvent) {
        switch event {
        case .stepStarted(let step):
            if verbose { say("==> \(step.rawValue)") }
        case .stepFinished(let step, let seconds, let outcome):
            switch outcome.kind {
            case .done, .reused:
                say("\(step.rawValue): \(relative(outcome.summary)) (\(Self.oneDecimal(seconds))s)")
            case .skipped:
                if verbose { say("\(step.rawValue): skipped: \(outcome.summary)") }
            }
        case .build(.sandbox(let status)):
            if verbose { say("sandbox: \(status)") }
        case .build(.started(let target)):
            if verbose { say("building \(target.platform) \(target.binary)") }
        case .image(let image, let reused):
            if !reused || verbose {
                say(
                    "image \(image.repoTags.first ?? image.tag)\(reused ? " (up to date)" : "") -> \(relative(image.tarball))"
                )
            }
        case .tarball(let name, let size):
            say("packed \(name) (\(Self.oneDecimal(Double(size) / 1_000_000)) MB)")
        case .build(.finished), .build(.progress), .buildReused, .progress:
            break
        }
    }

    private func handleJSON(_ event: ReleaseEvent) {
        switch event {
        case .stepStarted(let step):
            emit("step-started", ["step": .string(step.rawValue)])
        case .stepFinished(let step, let seconds, let outcome):
            emit(
                "step-finished",
                [
                    "step": .string(step.rawValue), "outcome": .string(outcome.kind.rawValue),
                    "summary": .string(relative(outcome.summary)),
                    "duration_ms": Self.milliseconds(seconds),
                ])
        case .build(.sandbox(let status)):
            emit("sandbox", ["status": .string(status.description)])
        case .build(.started(let target)):
            emit("binary-started", ["binary": .string(target.binary), "platform": .string("\(target.platform)")])
        case .image(let image, let reused):
            emit(
                "image-written",
                [
                    "image": .string(image.repoTags.first ?? image.tag),
                    "tags": .array(image.repoTags.map(JSONValue.string)),
                    "path": .string(relative(image.tarball)), "size": .int(image.size), "sha256": .string(image.sha256),
                    "reused": .bool(reused),
                ])
        case .tarball(let name, let size):
            emit("tarball-packed", ["name": .string(name), "size": .int(size)])
        case .build(.finished), .build(.progress), .buildReused, .progress:
            break
        }
    }

    /// The files of a finished release, with their digests: JSON `file-written` events and the GitHub step
    /// summary. `message` is the command's result when the release is its `last` work, else a line.
    func released(_ artifacts: [Artifact], plan: ReleasePlan, message: String, last: Bool = true) {
        if json {
            for artifact in artifacts {
                var fields: [String: JSONValue] = [
                    "path": .string(relative(plan.layout.root + "/" + artifact.path)),
                    "kind": .string(artifact.kind.rawValue),
                    "size": .int(artifact.size), "sha256": .string(artifact.sha256),
                ]
                if let os = artifact.os, let arch = artifact.arch { fields["platform"] = .string("\(os)/\(arch)") }
                if let image = artifact.image { fields["image"] = .string(image) }
                emit("file-written", fields)
            }
            let listed = Set(artifacts.map { plan.layout.root + "/" + $0.path })
            for path in Self.regularFiles(in: plan.layout.releaseTars) where !listed.contains(path) {
                guard let size = Self.size(of: path), let digest = try? Digest.file(path, .sha256) else { continue }
                emit(
                    "file-written",
                    [
                        "path": .string(relative(path)), "kind": .string("metadata"), "size": .int(size),
                        "sha256": .string(digest.hex),
                    ])
            }
        }
        github?.summarize(release: plan.version.version, project: plan.project, artifacts: artifacts, command: command)
        last ? result(message) : json ? emit("released", ["message": .string(message)]) : say(message)
    }

    /// One check of `kbuild verify`: its report line, or a `check` event.
    func check(_ check: VerifyCheck) {
        guard json else { return say(check.line) }
        emit(
            "check",
            [
                "check": .string(check.check),
                "status": .string(check.status == .fail ? "fail" : check.status.rawValue),
                "subject": .string(check.subject), "detail": .string(check.detail),
            ])
    }

    /// One event of a publish: its line for people (pushed manifests, set tags, uploaded files) or a JSON
    /// event; the bytes under way go to the display.
    func published(_ event: PublishEvent) {
        if case .progress(let progress) = event { return display.update(progress) }
        guard json else {
            if let line = event.line { say(line) }
            return
        }
        switch event {
        case .blobPushed(let repository, let digest, let size):
            emit("blob-pushed", ["repository": .string(repository), "digest": .string(digest), "size": .int(size)])
        case .blobSkipped(let repository, let digest, let size, let from):
            var fields: [String: JSONValue] = [
                "repository": .string(repository), "digest": .string(digest), "size": .int(size),
                "reason": .string(from == nil ? "present" : "mounted"),
            ]
            if let from { fields["from"] = .string(from) }
            emit("blob-skipped", fields)
        case .manifestPushed(let repository, let digest, let index):
            emit(
                "image-pushed",
                [
                    "repository": .string(repository), "digest": .string(digest),
                    "kind": .string(index ? "index" : "manifest"),
                ])
        case .tagged(let reference, let digest, let changed):
            emit("tag-set", ["reference": .string(reference), "digest": .string(digest), "changed": .bool(changed)])
        case .file(let name, let path, let url, let size, let uploaded):
            var fields: [String: JSONValue] = [
                "name": .string(name), "path": .string(relative(path)), "url": .string(url), "size": .int(size),
                "uploaded": .bool(uploaded),
            ]
            // What was sent, read back: JSON mode only.
            if let digest = try? Digest.file(path, .sha256) { fields["sha256"] = .string(digest.hex) }
            emit("file-uploaded", fields)
        case .progress:
            break
        }
    }

    /// What a dry run would send: its line, or a `planned` event.
    func planned(_ line: String) {
        json ? emit("planned", ["message": .string(line)]) : say(line)
    }

    /// The release passed verification before anything was named: now (`checks` of them), or by its
    /// verification record earlier (`checks` nil). A `verified` event in JSON mode.
    func verified(_ directory: String, checks: Int?, message: String) {
        guard json else { return say(message) }
        var fields: [String: JSONValue] = [
            "directory": .string(relative(directory)), "earlier": .bool(checks == nil), "message": .string(message),
        ]
        if let checks { fields["checks"] = .int(Int64(checks)) }
        emit("verified", fields)
    }

    /// A command's closing lines (`kbuild cut`, `kbuild init`): printed as they are, or one `result` event
    /// whose `message` is the last line and `details` the ones before it.
    func result(lines: [String]) {
        display.stop()
        guard json else { return lines.forEach(say) }
        var fields: [String: JSONValue] = ["message": .string(lines.last ?? "")]
        if lines.count > 1 { fields["details"] = .array(lines.dropLast().map(JSONValue.string)) }
        emit("result", fields)
    }

    /// One row of `kbuild diff`, as a `difference` event.
    func difference(_ difference: Difference) {
        var fields: [String: JSONValue] = [
            "change": .string(difference.change.rawValue), "path": .string(difference.path),
            "field": .string(difference.field),
        ]
        if let a = difference.a { fields["a"] = .string(a) }
        if let b = difference.b { fields["b"] = .string(b) }
        emit("difference", fields)
    }

    /// The command's last line: `result` in JSON.
    func result(_ message: String) {
        display.stop()
        json ? emit("result", ["message": .string(message)]) : say(message)
    }

    /// A line for people (nothing in JSON mode, where events say it).
    func say(_ line: String) {
        if json { return }
        display.line(line)
    }

    /// What the user should know but need not stop for: `warning: …` on stderr, and an event.
    @Sendable func warning(_ message: String) {
        display.line("warning: \(message)", error: true)
        if json { emit("warning", ["message": .string(message)]) }
        github?.annotate("warning", message: message, location: nil)
    }

    /// Runs the command's work; an error is reported (stderr line, JSON event, annotation, summary) and exits 1.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let value = try await body()
            display.stop()
            return value
        } catch let error as ExitCode {
            display.stop()
            throw error
        } catch let error as ValidationError {
            display.stop()
            throw error
        } catch {
            display.stop()
            report(error)
            throw ExitCode.failure
        }
    }

    private func report(_ error: any Error) {
        let text = "\(error)"
        let first = text.split(separator: "\n").first.map(String.init) ?? text
        FileHandle.standardError.write(Data("error: \(verbose ? text : first)\n".utf8))
        let location = ErrorLocation(error)
        if json {
            var fields: [String: JSONValue] = ["message": .string(first)]
            if let location {
                fields["file"] = .string(location.file)
                if let line = location.line { fields["line"] = .int(Int64(line)) }
                if let column = location.column { fields["column"] = .int(Int64(column)) }
            }
            emit("error", fields)
        }
        github?.annotate("error", message: first, location: location)
        github?.summarize(failure: first, command: command)
    }

    // MARK: - Forms

    private func emit(_ event: String, _ fields: [String: JSONValue]) {
        display.line(Self.jsonLine(command: command, event, fields))
    }

    /// One event: `v`, `event`, `command`, `time` (UTC, milliseconds) and the event's own fields.
    static func jsonLine(command: String, _ event: String, _ fields: [String: JSONValue]) -> String {
        var object = fields
        object["v"] = .int(Int64(logSchema))
        object["event"] = .string(event)
        object["command"] = .string(command)
        object["time"] = .string(timestamp())
        return String(decoding: JSONValue.object(object).serialized(), as: UTF8.self)
    }

    /// The regular files directly in `directory`, sorted (symlinks and the rest left out).
    private static func regularFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().map { directory + "/" + $0 }.filter { size(of: $0) != nil }
    }

    /// The size of a regular file, not following a symlink; nil for anything else.
    private static func size(of path: String) -> Int64? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    private func binaryFields(_ target: GoBuildTarget) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "binary": .string(target.binary), "platform": .string("\(target.platform)"),
            "path": .string(relative(target.output)),
        ]
        // The digest of what was built, read back: a few milliseconds a binary, in JSON mode only.
        if let digest = try? Digest.file(target.output, .sha256) { fields["sha256"] = .string(digest.hex) }
        return fields
    }

    static func fields(of progress: WorkProgress, elapsed: Int) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "activity": .string(progress.activity.rawValue), "subject": .string(progress.subject),
            "done": .int(progress.done), "unit": .string(progress.unit.rawValue),
            "waiting": .array(progress.waiting.map(JSONValue.string)), "elapsed_s": .int(Int64(elapsed)),
        ]
        if let total = progress.total { fields["total"] = .int(total) }
        return fields
    }

    /// `linux/amd64: compiling 57/180 packages, 12s, for kubectl, kubelet`.
    @Sendable static func text(_ progress: WorkProgress, elapsed: Int) -> String {
        let verb =
            switch progress.activity {
            case .compile: "compiling"
            case .pack: "packing"
            case .push: "pushing"
            case .upload: "uploading"
            case .image: "writing images"
            }
        let amount: String
        if progress.unit == .bytes {
            let megabytes = { (bytes: Int64) in oneDecimal(Double(bytes) / 1_000_000) }
            amount = megabytes(progress.done) + (progress.total.map { "/" + megabytes($0) } ?? "") + " MB"
        } else {
            amount = "\(progress.done)" + (progress.total.map { "/\($0)" } ?? "") + " \(progress.unit.rawValue)"
        }
        let waiting = progress.waiting.isEmpty ? "" : ", for " + progress.waiting.joined(separator: ", ")
        return "\(progress.subject): \(verb) \(amount), \(elapsed)s\(waiting)"
    }

    private func relative(_ text: String) -> String {
        text.replacingOccurrences(of: workspace + "/", with: "")
    }

    private static func milliseconds(_ seconds: Double) -> JSONValue { .int(Int64((seconds * 1000).rounded())) }

    /// One decimal, C locale.
    static func oneDecimal(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000))
    }
}

/// Where an error points in a file the user wrote: a config problem's FILE:LINE:COL.
struct ErrorLocation: Sendable, Equatable {
    var file: String
    var line: Int?
    var column: Int?

    init?(_ error: any Error) {
        switch error {
        case ConfigError.invalid(let file, let line, let column, _, _):
            (self.file, self.line, self.column) = (file, line, column)
        case ConfigError.unreadable(let file, _):
            (self.file, self.line, self.column) = (file, nil, nil)
        case ReleaseError.invalidManifest(let path, _, let line, let column, _):
            (self.file, self.line, self.column) = (path, line, column)
        default:
            return nil
        }
    }
}
