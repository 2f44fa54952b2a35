import Foundation
import KbuildConfig
import KbuildCore
import KbuildPublish
import KbuildVerify

/// `kbuild verify --registry`: the release's images as a registry serves them.
enum RegistryCheck {
    /// One check per image: each of its tags (the config's `publish.tags`, else the version tag) resolves to
    /// the index digest the release's bytes give (the digest the provenance records), and every
    /// architecture's manifest is there by digest.
    static func run(
        output: String, registry: String, tls: TLSOptions, settings: ReleaseConfig.Publish = .init(),
        project: String = ""
    ) async throws -> [VerifyCheck] {
        let version = ReleaseVerifier.recordedVersion(directory: output + "/release-tars")
        guard let tags = Publishing.tags(given: [], settings: settings, project: project, version: version) else {
            throw PublishError.noVersion(directory: output + "/release-tars")
        }
        let target = PublishRegistry(registry)
        let publications = try ImagePublication.plan(output: output, registry: target, tags: tags)
        let credential = try ContainerAuthFiles.credential(
            for: target.host, environment: ProcessInfo.processInfo.environment)
        let client = try await RegistryClient.connecting(host: target.host, tls: tls, credential: credential)
        return try await Blocking.run { () throws(PublishError) -> [VerifyCheck] in
            var checks: [VerifyCheck] = []
            for publication in publications {
                let first = publication.reference(host: target.host)
                var missing: ImageArchive?
                for image in publication.images where missing == nil {
                    if try client.manifestDigest(image.manifestDigest, in: publication.repository, subject: first)
                        == nil
                    {
                        missing = image
                    }
                }
                // One check per tag: each must name the index the release's bytes give.
                for (tag, reference) in zip(publication.tags, publication.references(host: target.host)) {
                    let found = try client.manifestDigest(tag, in: publication.repository, subject: reference)
                    if found != publication.indexDigest {
                        checks.append(
                            VerifyCheck(
                                .fail, "registry", reference,
                                "resolves to \(found ?? "nothing"), the release's index is \(publication.indexDigest)"))
                    } else if let missing {
                        checks.append(
                            VerifyCheck(.fail, "registry", reference, "has no manifest \(missing.manifestDigest)"))
                    } else {
                        checks.append(
                            VerifyCheck(
                                .ok, "registry", reference,
                                "\(publication.indexDigest) and its \(publication.images.count) manifests, as the release records"
                            ))
                    }
                }
            }
            return checks
        }
    }
}
