import KbuildCore

/// The content digest of a workspace's sources (`SourceIndex`), started on a thread of its own as soon as
/// the workspace is known: on a large tree its stat walk then overlaps loading (git's and Go's answers)
/// instead of following it.
public struct SourceDigest: Sendable {
    /// The workspace whose sources are hashed (absolute).
    public let workspace: String
    private let index: String
    private let task: Task<SourceIndex.Outcome, any Error>
    private let stop: CancellationFlag

    /// Starts hashing `workspace`'s sources through its `_output/cache/source-index`. Nothing is written
    /// until `value()`: the version's `git status` may be looking at the tree meanwhile.
    public static func start(_ workspace: String) -> SourceDigest {
        let index = OutputLayout(workspace: workspace).cache + "/source-index"
        let stop = CancellationFlag()
        let task = Task { try await Blocking.run { try SourceIndex.scan(workspace, indexPath: index, stop: stop) } }
        return SourceDigest(workspace: workspace, index: index, task: task, stop: stop)
    }

    /// The digest, with the refreshed index saved; a tree that cannot be read is `ReleaseError.io`
    /// naming the workspace.
    public func value() async throws -> String {
        let outcome: SourceIndex.Outcome
        do {
            outcome = try await withTaskCancellationHandler {
                try await task.value
            } onCancel: {
                stop.raise()
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ReleaseError.io(path: workspace, reason: "cannot read the sources: \(error)")
        }
        outcome.saveIndex(to: index)
        return outcome.digest
    }
}

extension SourceDigest {
    /// Stops the walk at its next file and waits until its thread is done: what an error path calls
    /// before the process exits (a thread still hashing then crashes in libcrypto's teardown).
    public func cancel() async {
        stop.raise()
        _ = try? await task.value
    }
}
