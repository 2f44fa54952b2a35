import KbuildCore

/// The content digest of a workspace's sources (`SourceIndex`), started on a thread of its own as soon as
/// the workspace is known: on a large tree its stat walk then overlaps loading (git's and Go's answers)
/// instead of following it.
public struct SourceDigest: Sendable {
    /// The workspace whose sources are hashed (absolute).
    public let workspace: String
    private let index: String
    private let task: Task<SourceIndex.Outcome, any Error>

    /// Starts hashing `workspace`'s sources through its `_output/cache/source-index`. Nothing is written
    /// until `value()`: the version's `git status` may be looking at the tree meanwhile.
    public static func start(_ workspace: String) -> SourceDigest {
        let index = OutputLayout(workspace: workspace).cache + "/source-index"
        let task = Task { try await Blocking.run { try SourceIndex.scan(workspace, indexPath: index) } }
        return SourceDigest(workspace: workspace, index: index, task: task)
    }

    /// The digest, with the refreshed index saved; a tree that cannot be read is `ReleaseError.io`
    /// naming the workspace.
    public func value() async throws -> String {
        let outcome: SourceIndex.Outcome
        do {
            outcome = try await task.value
        } catch {
            throw ReleaseError.io(path: workspace, reason: "cannot read the sources: \(error)")
        }
        outcome.saveIndex(to: index)
        return outcome.digest
    }
}
