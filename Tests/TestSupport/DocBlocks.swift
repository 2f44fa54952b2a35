import Foundation

/// The runnable parts of a Markdown page, in page order: what the doc tests execute.
///
/// A fenced block whose info string is `sh` is a command a user would run: it is executed. `console`
/// blocks are transcripts (output shown, commands on repositories not here) and are not run. Two
/// HTML comments, invisible when the page is rendered, steer the runner:
/// - `<!-- doctest: skip REASON -->` right before an `sh` block: not run, and the reason is required;
/// - `<!-- doctest-setup` … `-->`: shell lines run at that point of the page but not shown to readers
///   (a repository to stand for "your repository", a key to sign with).
public struct DocPage: Sendable, CustomStringConvertible {
    /// One thing the runner does, with the 1-based line of the page it comes from.
    public enum Step: Sendable, Equatable {
        case run(line: Int, script: String)
        case setup(line: Int, script: String)
        case skip(line: Int, reason: String)
    }

    /// The page's path relative to the repository root, e.g. `docs/layouts.md`.
    public var path: String
    public var steps: [Step]

    public var description: String { path }

    /// The commands that run, in order, each announced on stderr with its page and line.
    public var script: String {
        steps.compactMap { step -> String? in
            switch step {
            case .run(let line, let script), .setup(let line, let script):
                return "echo 'doctest: \(path):\(line)' >&2\n\(script)"
            case .skip: return nil
            }
        }.joined(separator: "\n")
    }

    /// Parses `text`; a malformed directive is an error naming its line.
    public static func parse(path: String, text: String) throws -> DocPage {
        var parser = Parser(lines: text.components(separatedBy: "\n"))
        return DocPage(path: path, steps: try parser.steps(page: path))
    }

    /// Every Markdown page a user reads: README.md and docs/**/*.md, sorted.
    public static func all(root: String) throws -> [DocPage] {
        var paths = ["README.md"]
        let docs = root + "/docs"
        if let walker = FileManager.default.enumerator(atPath: docs) {
            for case let relative as String in walker where relative.hasSuffix(".md") {
                paths.append("docs/" + relative)
            }
        }
        return try paths.sorted().map { path in
            try parse(path: path, text: String(contentsOfFile: root + "/" + path, encoding: .utf8))
        }
    }
}

/// A malformed doc-test directive.
public struct DocDirectiveError: Error, CustomStringConvertible {
    public var page: String
    public var line: Int
    public var reason: String
    public var description: String { "\(page):\(line): \(reason)" }
}

private struct Parser {
    let lines: [String]
    var index = 0
    var pendingSkip: (line: Int, reason: String)?

    init(lines: [String]) { self.lines = lines }

    mutating func steps(page: String) throws -> [DocPage.Step] {
        var steps: [DocPage.Step] = []
        while index < lines.count {
            let line = lines[index]
            let number = index + 1
            index += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("<!-- doctest: skip") {
                let reason = trimmed.dropFirst("<!-- doctest: skip".count).replacingOccurrences(of: "-->", with: "")
                    .trimmingCharacters(in: .whitespaces)
                guard !reason.isEmpty else {
                    throw DocDirectiveError(page: page, line: number, reason: "a skip needs its reason")
                }
                pendingSkip = (number, reason)
            } else if trimmed == "<!-- doctest-setup" {
                steps.append(.setup(line: number, script: try body(until: "-->", page: page, from: number)))
            } else if trimmed.hasPrefix("<!-- doctest") {
                throw DocDirectiveError(
                    page: page, line: number,
                    reason: "unknown directive; allowed: '<!-- doctest: skip REASON -->', '<!-- doctest-setup' … '-->'")
            } else if trimmed.hasPrefix("```") {
                let info = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces)
                let script = try body(until: "```", page: page, from: number)
                if info == "sh" {
                    if let skip = pendingSkip {
                        steps.append(.skip(line: skip.line, reason: skip.reason))
                    } else {
                        steps.append(.run(line: number, script: script))
                    }
                } else if pendingSkip != nil {
                    throw DocDirectiveError(page: page, line: number, reason: "a skip stands before a '\(info)' block")
                }
                pendingSkip = nil
            }
        }
        return steps
    }

    /// The lines up to the closing `marker` (not included).
    mutating func body(until marker: String, page: String, from start: Int) throws -> String {
        var collected: [String] = []
        while index < lines.count {
            let line = lines[index]
            index += 1
            if line.trimmingCharacters(in: .whitespaces) == marker { return collected.joined(separator: "\n") }
            collected.append(line)
        }
        throw DocDirectiveError(page: page, line: start, reason: "no closing \(marker)")
    }
}
