import KbuildCore
import Synchronization

/// Counts the packages one `go build -v` compiles, against the total `go build -n` planned, and
/// reports each change. The plan may name more than Go then compiles (a dependent whose dependency's
/// export data did not change is found in the cache after all): the last report says all are done.
final class CompileCounter: Sendable {
    private struct State {
        var compiled: Int64 = 0
        var total: Int64?
    }

    let subject: String
    let binaries: [String]
    private let report: @Sendable (GoBuildEvent) -> Void
    private let state = Mutex(State())

    init(subject: String, binaries: [String], report: @escaping @Sendable (GoBuildEvent) -> Void) {
        self.subject = subject
        self.binaries = binaries
        self.report = report
    }

    /// The number of packages Go plans to compile, once known.
    func plan(_ total: Int?) {
        guard let total else { return }
        send { $0.total = Int64(total) }
    }

    /// One line of `go build -v`'s stderr.
    func line(_ line: Substring) {
        guard Self.isPackageLine(line) else { return }
        send { $0.compiled += 1 }
    }

    /// The build succeeded: everything planned is done.
    func finish() {
        send(finished: true) { state in
            state.total = max(state.total ?? state.compiled, state.compiled)
            state.compiled = state.total ?? state.compiled
        }
    }

    /// `-v` prints an import path alone on a line; Go's messages have spaces or a colon, `# pkg` headers a `#`.
    static func isPackageLine(_ line: Substring) -> Bool {
        !line.isEmpty && !line.hasPrefix("#") && !line.contains(where: { $0 == " " || $0 == "\t" || $0 == ":" })
    }

    private func send(finished: Bool = false, _ change: (inout State) -> Void) {
        let progress = state.withLock { state in
            change(&state)
            // Never more done than planned while running: a plan can undercount what -v names (cgo's
            // runtime/cgo, say); the total grows with it.
            let total = state.total.map { max($0, state.compiled) }
            return WorkProgress(
                activity: .compile, subject: subject, done: state.compiled, total: total, unit: .packages,
                waiting: binaries, finished: finished)
        }
        report(.progress(progress))
    }
}
