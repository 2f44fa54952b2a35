import Foundation
import Synchronization

/// Runs `body` over `items` with at most `limit` running at once; results keep the input order.
/// The first error cancels the rest and is rethrown after they finish.
public func concurrentMap<Item: Sendable, Result: Sendable>(
    _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Result
) async throws -> [Result] {
    var results = [Result?](repeating: nil, count: items.count)
    try await withThrowingTaskGroup(of: (Int, Result).self) { group in
        var next = 0
        for _ in 0..<min(max(limit, 1), items.count) {
            let index = next
            group.addTask { (index, try await body(items[index])) }
            next += 1
        }
        do {
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < items.count {
                    let index = next
                    group.addTask { (index, try await body(items[index])) }
                    next += 1
                }
            }
        } catch {
            group.cancelAll()
            // Let every running task finish its cleanup before the error leaves.
            while (try? await group.next()) != nil {}
            throw error
        }
    }
    return results.compactMap { $0 }
}

/// Blocking work (file writes, compression, waits on other threads) kept off Swift's cooperative pool,
/// whose few threads must stay free to run tasks.
public enum Blocking {
    /// Runs `work` on a thread of its own and resumes with its result; its error keeps its type.
    public static func run<T: Sendable, Failure: Error>(
        _ work: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, Failure>, Never>) in
            let thread = Thread { continuation.resume(returning: Result { () throws(Failure) -> T in try work() }) }
            // Secondary threads get 512 KiB by default; libarchive and deflate want more headroom.
            thread.stackSize = 8 << 20
            thread.start()
        }
        return try result.get()
    }
}

/// A stop request that blocking work on a thread of its own (`Blocking.run`) polls: such threads see no
/// task cancellation, and work still running when the process exits crashes in the runtime's teardown.
public final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    /// Asks the work to stop at its next check.
    public func raise() { raised.store(true, ordering: .relaxed) }

    /// Whether a stop was asked.
    public var isRaised: Bool { raised.load(ordering: .relaxed) }

    /// Throws `CancellationError` once a stop was asked.
    public func check() throws {
        if isRaised { throw CancellationError() }
    }
}
