import Foundation
import KbuildCore
import KbuildPublish
import KbuildVerify

/// `kbuild verify --registry`: the release's images as a registry serves them.
enum RegistryCheck {
    /// One check per image: its tag resolves to the index digest the release's bytes give (the digest the
    /// provenance records), and every architecture's manifest is there by digest.
    static func run(output: String, registry: String, tls: TLSOptions) async throws -> [VerifyCheck] {
        guard let version = ReleaseVerifier.recordedVersion(directory: output + "/release-tars") else {
            throw PublishError.noVersion(directory: output + "/release-tars")
        }
        let target = PublishRegistry(registry)
        let publications = try ImagePublication.plan(
            output: output, registry: target, tag: ImagePublication.tag(version: version))
        let credential = try ContainerAuthFiles.credential(
            for: target.host, environment: ProcessInfo.processInfo.environment)
        let client = try await RegistryClient.connecting(host: target.host, tls: tls, credential: credential)
        return try await Blocking.run { () throws(PublishError) -> [VerifyCheck] in
            var checks: [VerifyCheck] = []
            for publication in publications {
                let reference = publication.reference(host: target.host)
                let found = try client.manifestDigest(publication.tag, in: publication.repository, subject: reference)
                var missing: [ImageArchive] = []
                for image in publication.images
                where try client.manifestDigest(image.manifestDigest, in: publication.repository, subject: reference)
                    == nil
                {
                    missing.append(image)
                }
                if found != publication.indexDigest {
                    checks.append(
                        VerifyCheck(
                            .fail, "registry", reference,
                            "resolves to \(found ?? "nothing"), the release's index is \(publication.indexDigest)"))
                } else if let first = missing.first {
                    checks.append(
                        VerifyCheck(.fail, "registry", reference, "has no manifest \(first.manifestDigest)"))
                } else {
                    checks.append(
                        VerifyCheck(
                            .ok, "registry", reference,
                            "\(publication.indexDigest) and its \(publication.images.count) manifests, as the release records"
                        ))
                }
            }
            return checks
        }
    }
}
