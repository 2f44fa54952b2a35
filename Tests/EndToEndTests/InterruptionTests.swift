import Foundation
import KbuildCore
import TestSupport
import Testing

/// Two releases on one `_output` never interleave, and SIGINT, SIGTERM or SIGKILL at any point
/// never lose or mix the previous release; the next run cleans up after the killed one and succeeds.
@Suite(.serialized) struct InterruptionTests {
    /// The delays are drawn from this seed (KBUILD_FAULT_SEED overrides it) so a failure can be replayed.
    static let seed: UInt64 =
        ProcessInfo.processInfo.environment["KBUILD_FAULT_SEED"].flatMap { UInt64($0) }
        ?? 0x6b62_7569_6c64_0008
    static let attempts = 21

    /// The kbuild environment of a run with `epoch` as SOURCE_DATE_EPOCH, as a spawn environment.
    static func environment(epoch: Int) -> [String: String?] {
        var env = GoodRelease.environment
        env["SOURCE_DATE_EPOCH"] = String(epoch)
        return env
    }

    @Test func aSecondReleaseOnTheSameOutputRefusesNamingTheHolder() async throws {
        let fixture = try await Fixture("lock")
        defer { fixture.cleanup() }
        let before = try snapshot(of: fixture.releaseTars)
        let lock = fixture.output + "/.kbuild.lock"
        let log = fixture.directory.appending("first.log")
        let env = Self.environment(epoch: 1_700_000_500)

        // The first release (real work: a new date) is frozen as soon as it holds the lock.
        let first = try spawnGroupLeader(
            Repository.kbuildBinary, ["release", "-C", fixture.workspace], environment: env, log: log)
        var holding = false
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if (try? String(contentsOfFile: lock, encoding: .utf8)) == "pid \(first)\n" {
                kill(first, SIGSTOP)
                holding = true
                break
            }
            if let exit = waitForExit(first, block: false) {
                Issue.record("the first release ended (\(exit)) before it was seen holding the lock")
                return
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        try #require(holding, "the first release never took the lock")

        for command in [["release"], ["build"]] {
            let second = try await GoodRelease.kbuild(command, in: fixture.workspace, env)
            #expect(second.status == 1, "\(command): \(second.stderr)")
            #expect(
                second.stderr
                    == "error: another kbuild release is running on this _output (pid \(first)); lock: \(lock)\n",
                "\(command): \(second.stderr)")
        }
        #expect(try snapshot(of: fixture.releaseTars) == before)

        kill(first, SIGCONT)
        let exit = waitForExit(first)
        #expect(
            exit == .exited(0),
            "\(exit.map(\.description) ?? "?"): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let released = try snapshot(of: fixture.releaseTars)
        #expect(released != before)
        try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: fixture.releaseTars)

        // Now free, the same release reuses everything and changes nothing.
        let again = try await GoodRelease.kbuild(["release"], in: fixture.workspace, env)
        #expect(again.succeeded, "\(again.stderr)")
        #expect(try snapshot(of: fixture.releaseTars) == released)
    }

    /// How long one release with a new date takes here: the range of the random kill points.
    func timedRelease(_ workspace: String, epoch: Int) async throws -> Double {
        let start = Date()
        let result = try await GoodRelease.kbuild(["release"], in: workspace, Self.environment(epoch: epoch))
        try #require(result.succeeded, "\(result.stderr)")
        return Date().timeIntervalSince(start)
    }

    @Test func killedAtRandomPointsTheReleaseIsOldOrNewNeverMixedAndTheNextRunRecovers() async throws {
        let fixture = try await Fixture("kill")
        defer { fixture.cleanup() }
        print("InterruptionTests seed: \(Self.seed) (replay with KBUILD_FAULT_SEED=\(Self.seed))")
        var random = SplitMix64(seed: Self.seed)
        let duration = try await timedRelease(fixture.workspace, epoch: 1_700_001_000)
        var previous = try snapshot(of: fixture.releaseTars)
        var outcomes: [String: Int] = [:]

        for attempt in 0..<Self.attempts {
            let signal = [SIGINT, SIGTERM, SIGKILL][attempt % 3]
            let signalName = [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGKILL: "SIGKILL"][signal]!
            let epoch = 1_700_002_000 + attempt
            let delay = Double.random(in: 0...duration, using: &random)
            let label =
                "attempt \(attempt): \(signalName) after \(String(format: "%.2f", delay))s of \(String(format: "%.2f", duration))s"
            let log = fixture.directory.appending("attempt-\(attempt).log")

            let pid = try spawnGroupLeader(
                Repository.kbuildBinary, ["release", "-C", fixture.workspace],
                environment: Self.environment(epoch: epoch),
                log: log)
            try await Task.sleep(for: .seconds(delay))
            // SIGINT as a terminal sends it: to the whole foreground group. SIGTERM and SIGKILL to kbuild alone,
            // whose go and unshare children then run on as orphans: wait for them to finish too.
            if signal == SIGINT { kill(-pid, signal) } else { kill(pid, signal) }
            let exit = waitForExit(pid)
            #expect(await waitForProcessGroup(pid), "\(label): children of the killed kbuild still run after 120 s")

            let now = try snapshot(of: fixture.releaseTars)
            let finished: Bool
            if now == previous {
                finished = false
            } else {
                // Not the old one: it must be the whole new release, every tarball rewritten, checksums matching.
                finished = true
                #expect(Set(now.keys) == Set(previous.keys), "\(label): other files in release-tars")
                for (name, data) in now where name.hasSuffix(".tar.gz") {
                    #expect(data != previous[name], "\(label): \(name) is still the old one next to new ones")
                }
                let verify = try await Tool.run("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: fixture.releaseTars)
                #expect(verify.succeeded, "\(label): SHA256SUMS does not verify: \(verify.stdout)\(verify.stderr)")
            }
            let leftovers = temporaryLeftovers(in: fixture.output)
            let outcome =
                "\(signalName) \(finished ? "after the swap" : "before the swap"), \(leftovers.isEmpty ? "clean" : "leftovers")"
            outcomes[outcome, default: 0] += 1
            print("\(label): \(exit.map(\.description) ?? "?"), \(outcome) \(leftovers.count)")

            // The next run removes the killed run's leftovers and completes the same release.
            let next = try await GoodRelease.kbuild(["release"], in: fixture.workspace, Self.environment(epoch: epoch))
            #expect(next.succeeded, "\(label): the next run failed: \(next.stderr)")
            let after = try snapshot(of: fixture.releaseTars)
            #expect(temporaryLeftovers(in: fixture.output).isEmpty, "\(label): leftovers after the next run")
            try await Tool.check("sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: fixture.releaseTars)
            if finished {
                #expect(after == now, "\(label): the next run changed a finished release (not reproducible?)")
            } else {
                #expect(after != previous, "\(label): the next run did not release the new date")
            }
            previous = after
        }
        print("InterruptionTests outcomes: \(outcomes.sorted { $0.key < $1.key })")
    }
}

/// A small, seedable generator (SplitMix64) so the kill points repeat from run to run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
