import KbuildCore
import Synchronization

/// What a publish reports as it goes: each blob, manifest, tag and file, and the bytes under way. The
/// CLI turns them into its lines for people, `--log-format json` events and the GitHub step summary.
public enum PublishEvent: Sendable, Hashable {
    /// A blob's bytes were sent to `repository` (`host/name`).
    case blobPushed(repository: String, digest: String, size: Int64)
    /// A blob was not sent: the registry had it (`mountedFrom` nil) or linked it from another repository.
    case blobSkipped(repository: String, digest: String, size: Int64, mountedFrom: String?)
    /// A manifest (`index` false) or an index was pushed by digest to `repository`.
    case manifestPushed(repository: String, digest: String, index: Bool)
    /// `reference` (`host/name:tag`) names `digest`; `changed` false when it already did.
    case tagged(reference: String, digest: String, changed: Bool)
    /// A release file was PUT at `url` (`uploaded`), or the server had it identical.
    case file(name: String, path: String, url: String, size: Int64, uploaded: Bool)
    /// Bytes sent so far of one image or of the release files.
    case progress(WorkProgress)

    /// The line `kbuild publish` prints for it, if any: pushed manifests, set tags, uploaded files.
    public var line: String? {
        switch self {
        case .manifestPushed(let repository, let digest, _): "pushed   \(repository)@\(digest)"
        case .tagged(let reference, let digest, true): "tagged   \(reference) \(digest)"
        case .file(_, _, let url, _, true): "uploaded \(url)"
        default: nil
        }
    }
}

/// Bytes done of bytes to do, per piece of work (an image's repository, the upload), reported as
/// `PublishEvent.progress` each time an item is done; the display decides how often to show it.
final class TransferProgress: Sendable {
    private struct Work {
        var done: Int64 = 0
        var total: Int64
        var running: [String] = []
    }

    private let activity: WorkProgress.Activity
    private let report: @Sendable (PublishEvent) -> Void
    private let works: Mutex<[String: Work]>

    /// `totals`: the bytes of each piece of work, by subject.
    init(
        _ activity: WorkProgress.Activity, totals: [String: Int64], report: @escaping @Sendable (PublishEvent) -> Void
    ) {
        self.activity = activity
        self.report = report
        works = Mutex(totals.mapValues { Work(total: $0) })
    }

    /// `item` of `subject` is under way.
    func started(_ subject: String, _ item: String) { send(subject) { $0.running.append(item) } }

    /// `item` of `subject` is done (sent or skipped): its `bytes`, those not yet `advanced`, count as done.
    func finished(_ subject: String, _ item: String, bytes: Int64) {
        send(subject) { work in
            work.running.removeAll { $0 == item }
            work.done += bytes
        }
    }

    /// `bytes` more of `subject` are sent (negative: an abandoned attempt's bytes no longer count).
    func advanced(_ subject: String, by bytes: Int64) { send(subject) { $0.done += bytes } }

    /// Every piece of work is done (or the publish failed): the display drops them. Once only.
    func finish() {
        let left = works.withLock { works in
            defer { works = [:] }
            return works.sorted { $0.key < $1.key }
        }
        for (subject, work) in left {
            report(
                .progress(
                    WorkProgress(
                        activity: activity, subject: subject, done: work.done, total: work.total, unit: .bytes,
                        finished: true)))
        }
    }

    private func send(_ subject: String, _ change: (inout Work) -> Void) {
        let progress = works.withLock { works -> WorkProgress? in
            guard var work = works[subject] else { return nil }
            change(&work)
            works[subject] = work
            return WorkProgress(
                activity: activity, subject: subject, done: work.done, total: work.total, unit: .bytes,
                waiting: work.running)
        }
        if let progress { report(.progress(progress)) }
    }
}
