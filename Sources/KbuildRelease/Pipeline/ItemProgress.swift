import KbuildCore
import Synchronization

/// Reports the items of a step that takes seconds (tarballs packed, images written) as
/// `ReleaseEvent.progress`: how many are done of how many, and which are under way. Publishing counts
/// bytes with its own twin, `TransferProgress` in KbuildPublish.
public final class ItemProgress: Sendable {
    private struct State {
        var done: Int64 = 0
        var running: [String] = []
    }

    private let activity: WorkProgress.Activity
    private let subject: String
    private let total: Int64
    private let report: @Sendable (ReleaseEvent) -> Void
    private let state = Mutex(State())

    public init(
        _ activity: WorkProgress.Activity, subject: String, total: Int,
        report: @escaping @Sendable (ReleaseEvent) -> Void
    ) {
        self.activity = activity
        self.subject = subject
        self.total = Int64(total)
        self.report = report
    }

    /// `item` is under way.
    public func started(_ item: String) { send { $0.running.append(item) } }

    /// `item` is done.
    public func finished(_ item: String) {
        send { state in
            state.running.removeAll { $0 == item }
            state.done += 1
        }
    }

    /// All items are done (or the step failed): the display drops this work.
    public func finish() { send(finished: true) { _ in } }

    private func send(finished: Bool = false, _ change: (inout State) -> Void) {
        let progress = state.withLock { state in
            change(&state)
            return WorkProgress(
                activity: activity, subject: subject, done: state.done, total: total, unit: .files,
                waiting: state.running, finished: finished)
        }
        report(.progress(progress))
    }
}
