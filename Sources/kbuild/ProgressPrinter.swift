import Foundation
import KbuildRelease
import Synchronization

/// Prints progress: one line per finished item, and a summary per step.
/// On a terminal lines carry a counter; in CI they are plain. Events arrive from several tasks at once.
final class ProgressPrinter: Sendable {
    private let done = Mutex(0)
    private let total: Int
    private let verbose: Bool
    private let terminal = isatty(STDOUT_FILENO) == 1
    private let plan: ReleasePlan

    init(plan: ReleasePlan, verbose: Bool) {
        self.total = plan.builds.count
        self.plan = plan
        self.verbose = verbose
    }

    func handle(_ event: ReleaseEvent) {
        // One lock around counting and printing, so lines never interleave.
        done.withLock { done in
            switch event {
            case .stepStarted(let step):
                if verbose { say("==> \(step)") }
            case .stepFinished(let step, let seconds, let outcome):
                switch outcome {
                case .done(let summary), .reused(let summary):
                    say("\(step): \(plan.relative(summary)) (\(seconds.formatted1)s)")
                case .skipped(let reason):
                    if verbose { say("\(step): skipped: \(reason)") }
                }
            case .build(.finished(let target, let seconds)):
                done += 1
                let counter = terminal ? "[\(done)/\(total)] " : ""
                say("\(counter)built \(target.platform) \(target.binary) (\(seconds.formatted1)s)")
            case .build(.sandbox(let status)):
                if verbose { say("sandbox: \(status)") }
            case .build(.started(let target)):
                if verbose { say("building \(target.platform) \(target.binary)") }
            case .buildReused(let target):
                done += 1
                if verbose { say("up to date: \(target.platform) \(target.binary)") }
            case .image(let image, let reused):
                if !reused || verbose {
                    say(
                        "image \(image.repoTags.first ?? image.tag)\(reused ? " (up to date)" : "") -> \(plan.relative(image.tarball))"
                    )
                }
            case .tarball(let name, let size):
                say("packed \(name) (\((Double(size) / 1_000_000).formatted1) MB)")
            }
        }
    }

    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

extension Double {
    /// One decimal, C locale.
    fileprivate var formatted1: String { String(format: "%.1f", self) }
}
