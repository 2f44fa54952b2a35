import Foundation
import KbuildCore
import Synchronization

/// Where a command's lines go: stdout, one writer at a time, with the work in progress shown either
/// as a live region under the lines (redrawn in place with ANSI, on a terminal) or as a plain line per
/// piece of work at most every `plainInterval` (in a pipe, a CI log). Nothing here touches a release file.
final class ProgressDisplay: Sendable {
    enum Style: Sendable, Equatable {
        /// Redrawn in place; `color` unless NO_COLOR.
        case live(color: Bool)
        /// A line per piece of work when it starts, then at most every `plainInterval`.
        case plain
        /// No progress at all.
        case none
    }

    /// How often plain progress repeats a piece of work: CI logs show life without flooding.
    static let plainInterval = Duration.seconds(10)
    /// How long work runs before plain progress mentions it.
    static let plainDelay = Duration.seconds(2)

    private struct Work {
        var progress: WorkProgress
        var started: ContinuousClock.Instant
        var printed: ContinuousClock.Instant?
    }

    private struct State {
        var order: [String] = []
        var works: [String: Work] = [:]
        /// Lines of the live region now on screen, below the permanent lines.
        var drawn = 0
        var lastDraw: ContinuousClock.Instant?
        var ticker: Task<Void, Never>?
    }

    let style: Style
    /// One piece of work as a plain line (`elapsed` in whole seconds).
    private let render: @Sendable (WorkProgress, Int) -> String
    private let state = Mutex(State())

    init(style: Style, render: @escaping @Sendable (WorkProgress, Int) -> String) {
        self.style = style
        self.render = render
        guard style != .none else { return }
        // Elapsed times move, and plain lines repeat, even while no event arrives.
        let ticker = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                self?.tick()
            }
        }
        state.withLock { $0.ticker = ticker }
    }

    /// A permanent line (a step done, a binary built, a JSON event); on stderr (a warning) when `error`.
    /// Both streams may be the one terminal: the live region is taken away around the line.
    func line(_ text: String, error: Bool = false) {
        state.withLock { state in
            guard error else { return write(erase(&state) + text + "\n" + draw(&state)) }
            write(erase(&state))
            FileHandle.standardError.write(Data((text + "\n").utf8))
            write(draw(&state))
        }
    }

    /// A report of work in progress; a finished one leaves the display.
    func update(_ progress: WorkProgress) {
        guard style != .none else { return }
        let now = ContinuousClock.now
        state.withLock { state in
            let key = progress.key
            if progress.finished {
                state.order.removeAll { $0 == key }
                state.works[key] = nil
            } else if state.works[key] == nil {
                state.order.append(key)
                state.works[key] = Work(progress: progress, started: now)
            } else {
                state.works[key]?.progress = progress
            }
            refresh(&state, now: now, force: progress.finished)
        }
    }

    /// Stops the ticker and removes the live region: the command's last lines follow.
    func stop() {
        state.withLock { state in
            state.ticker?.cancel()
            state.ticker = nil
            state.order = []
            state.works = [:]
            write(erase(&state))
        }
    }

    private func tick() {
        state.withLock { refresh(&$0, now: .now, force: true) }
    }

    private func refresh(_ state: inout State, now: ContinuousClock.Instant, force: Bool) {
        switch style {
        case .none: return
        case .live:
            // At most ten redraws a second: a fast build reports hundreds of packages.
            if !force, let last = state.lastDraw, now - last < .milliseconds(100) { return }
            state.lastDraw = now
            write(erase(&state) + draw(&state))
        case .plain:
            var out = ""
            for key in state.order {
                guard let work = state.works[key] else { continue }
                if let printed = work.printed, now - printed < Self.plainInterval { continue }
                // The first line waits until the work has taken a moment (quick work prints none), and for
                // the total (Go's plan comes a moment after the build starts), but not for long.
                if work.printed == nil {
                    let waited = now - work.started
                    if waited < Self.plainDelay || (work.progress.total == nil && waited < Self.plainInterval) {
                        continue
                    }
                }
                state.works[key]?.printed = now
                out += render(work.progress, Self.wholeSeconds(now - work.started)) + "\n"
            }
            write(out)
        }
    }

    /// Moves up over the live region and clears it.
    private func erase(_ state: inout State) -> String {
        guard state.drawn > 0 else { return "" }
        defer { state.drawn = 0 }
        return "\u{1b}[\(state.drawn)A\r\u{1b}[J"
    }

    /// The live region, one line per piece of work, cut to the terminal's width so none wraps.
    private func draw(_ state: inout State) -> String {
        guard case .live(let color) = style else { return "" }
        let width = Self.terminalWidth() - 1
        let now = ContinuousClock.now
        var out = ""
        for key in state.order {
            guard let work = state.works[key] else { continue }
            var text = render(work.progress, Self.wholeSeconds(now - work.started))
            if text.count > width { text = String(text.prefix(max(width - 1, 1))) + "…" }
            out += (color ? "\u{1b}[36m" + text + "\u{1b}[0m" : text) + "\n"
            state.drawn += 1
        }
        return out
    }

    private func write(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    private static func wholeSeconds(_ duration: Duration) -> Int { Int(duration.components.seconds) }

    /// Columns of the terminal on stdout; 80 when it does not say.
    private static func terminalWidth() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
