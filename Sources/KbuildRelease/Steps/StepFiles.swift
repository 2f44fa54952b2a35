import Foundation
import KbuildDigest

/// Fails naming the first of `paths` that does not exist (binaries a step needs from `kbuild build`).
func requireFiles(_ paths: [String]) throws(ReleaseError) {
    for path in Set(paths).sorted() where !FileManager.default.fileExists(atPath: path) {
        throw .missingBuildOutput(path: path)
    }
}

/// The hex sha256 of a file a step records (shard manifests, the provenance's config and base images).
func fileSHA256(_ path: String) throws(ReleaseError) -> String {
    do {
        return try Digest.file(path, .sha256).hex
    } catch {
        throw .io(path: path, reason: error.description)
    }
}
