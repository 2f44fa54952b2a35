import Foundation
import KbuildConfig
import KbuildDigest
import KbuildVerify

extension Publishing {
    /// Verifies the release (`verifyUnlessRecorded`) while `body` runs: `body` gets a gate that returns once
    /// verification passed, to await before anything is named (blobs, content-addressed, may go up
    /// meanwhile). When both fail, the verification's error is the one reported.
    func whileVerifying(
        output: String, workspace: String?, _ body: (@escaping @Sendable () async throws -> Void) async throws -> Void
    ) async throws {
        let verification = Task { try await verifyUnlessRecorded(output: output, workspace: workspace) }
        do {
            try await body { try await verification.value }
        } catch {
            try await verification.value
            throw error
        }
        try await verification.value
    }

    /// Verifies the release unless a verification record says it passed, unchanged, before (`--reverify`
    /// ignores the record). The record is written only after a full pass, and only when no file verify
    /// reads changed while it ran.
    func verifyUnlessRecorded(output: String, workspace: String?) async throws {
        // The config file's bytes, not the loaded value's JSON: ReleaseConfig holds Sets and Platform-keyed
        // maps, which encode in an order that changes from one run to the next.
        let config =
            workspace.flatMap { FileManager.default.contents(atPath: $0 + "/" + ReleaseConfig.defaultPath) }.map {
                Digest.of($0, .sha256).hex
            } ?? ""
        let stamp = {
            VerificationRecord.current(
                output: output, workspace: workspace, tool: Kbuild.configuration.version, config: config)
        }
        let record = VerificationRecord.path(
            cache: VerificationRecord.cacheDirectory(output: output, workspace: workspace, environment: environment),
            output: output)
        let before = stamp()
        if !options.reverify, let before, before.isRecorded(at: record) {
            reporter.verified(
                output, checks: nil,
                message:
                    "verified earlier: \(output) is unchanged since its last full verification (--reverify checks again)"
            )
            return
        }
        try await verify(output: output, workspace: workspace)
        if let before, stamp() == before { before.write(to: record) }
    }
}
