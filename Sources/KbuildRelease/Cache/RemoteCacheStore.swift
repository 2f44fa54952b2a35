import Foundation
import KbuildConfig
import KbuildCore
import KbuildPublish
import KbuildRemote

extension RemoteCache {
    /// Steps whose keys name nothing of one checkout (content digests and workspace-relative paths),
    /// so another clone or machine computes the same key. The image and package keys still carry
    /// absolute paths and stat signatures: sharing them would only upload what nobody can hit.
    static let sharedSteps: Set<CacheStep> = [.build]
}

extension OutputCache {
    /// On a local miss: the remote record, its outputs fetched and verified, then recorded locally so
    /// the next run hits without asking.
    /// Blobs download into the step's record directory, whose leftovers every run removes first.
    func lookupRemotely(_ step: CacheStep, key: String, outputs: [String]) async -> Data? {
        guard let remote, RemoteCache.sharedSteps.contains(step),
            let payload = await remote.cache.fetch(
                key: key, outputs: outputs, root: remote.workspace, scratch: directory + "/" + step.rawValue)
        else { return nil }
        recordLocally(step, key: key, outputs: outputs, payload: payload)
        return payload
    }

    /// After a step ran: its outputs and record to the remote (unless uploads are off).
    func upload(_ step: CacheStep, key: String, outputs: [String], payload: Data) async {
        guard let remote, RemoteCache.sharedSteps.contains(step) else { return }
        await remote.cache.store(key: key, outputs: outputs, root: remote.workspace, payload: payload)
    }
}
