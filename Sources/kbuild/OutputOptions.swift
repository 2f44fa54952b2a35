import ArgumentParser
import Foundation

/// `--progress`: how work in progress is shown.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// `tty` when stdout is a terminal and TERM is not `dumb`, else `plain`.
    case auto
    /// A live display redrawn in place.
    case tty
    /// A plain line per piece of work at most every 10 s.
    case plain
    /// None.
    case none
}

/// `--log-format`: lines for people, or one JSON object per event.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// How a command that does work reports while it runs: every such command takes these.
struct OutputOptions: ParsableArguments {
    @Option(
        name: .customLong("progress"),
        help: ArgumentHelp(
            "How work in progress is shown: auto (tty on a terminal unless TERM=dumb, else plain), tty (a live display redrawn in place), plain (a line per piece of work at most every 10 s) or none.",
            valueName: "auto|tty|plain|none"))
    var progress: ProgressMode = .auto

    @Option(
        name: .customLong("log-format"),
        help: ArgumentHelp(
            "text, or json: one JSON object per line per event on stdout (schema: docs/log-format.md).",
            valueName: "text|json"))
    var logFormat: LogFormat = .text

    /// The environment variables the reporting honours, for `--help`.
    static let environmentHelp = """
        Output: NO_COLOR drops colour from the live display; TERM=dumb makes --progress auto plain; \
        GITHUB_ACTIONS=true adds an `::error::` annotation for an error (`::error file=…,line=…,col=…::` for \
        a config error) and, with GITHUB_STEP_SUMMARY, appends a summary of the run to that file (the \
        release's files, or the images and files published, with their digests).
        """

    /// The reporter of a command run on `workspace` (absolute), reading `environment` once.
    func reporter(command: String, workspace: String, verbose: Bool, environment: [String: String]) -> Reporter {
        let terminal = isatty(STDOUT_FILENO) == 1 && (environment["TERM"] ?? "") != "dumb"
        let color = (environment["NO_COLOR"] ?? "").isEmpty
        let style: ProgressDisplay.Style
        switch (progress, logFormat) {
        case (.none, _): style = .none
        // JSON lines own stdout: progress comes as throttled `progress` events.
        case (_, .json), (.plain, .text): style = .plain
        case (.tty, .text): style = .live(color: color)
        case (.auto, .text): style = terminal ? .live(color: color) : .plain
        }
        return Reporter(
            command: command, workspace: workspace, verbose: verbose, json: logFormat == .json, style: style,
            github: GitHubActions(environment: environment, json: logFormat == .json))
    }
}
