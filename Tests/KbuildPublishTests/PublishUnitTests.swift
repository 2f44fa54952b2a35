import Foundation
import KbuildCore
import KbuildDigest
import Synchronization
import TestSupport
import Testing

@testable import KbuildPublish

@Suite struct AuthChallengeTests {
    @Test func bearerChallengeGivesRealmServiceAndScope() throws {
        let challenge = try #require(
            AuthChallenge(
                #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters["realm"] == "https://auth.example/token")
        #expect(challenge.parameters["service"] == "registry.example")
        #expect(challenge.parameters["scope"] == "repository:a/b:pull")
    }

    @Test func basicChallengeAndUnknownSchemes() throws {
        #expect(AuthChallenge(#"Basic realm="kbuild-test""#)?.scheme == "basic")
        #expect(AuthChallenge(#"Basic realm="a \"quoted\" realm""#)?.parameters["realm"] == #"a "quoted" realm"#)
        #expect(AuthChallenge(#"Negotiate abc"#) == nil)
    }
}

@Suite struct ContainerAuthFilesTests {
    @Test func firstFileWithAnEntryWinsAndKeysCompareByHost() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = directory.appending("first.json")
        let docker = directory.appending("docker")
        try writeFile(first, #"{"auths": {"other.example": {"auth": "\#(Data("x:y".utf8).base64EncodedString())"}}}"#)
        try writeFile(
            docker + "/config.json",
            #"{"auths": {"https://reg.example:5000/v1/": {"auth": "\#(Data("me:p:w".utf8).base64EncodedString())"}}}"#)
        let environment = ["REGISTRY_AUTH_FILE": first, "HOME": directory.path, "DOCKER_CONFIG": docker]
        #expect(
            ContainerAuthFiles.files(environment: environment) == [
                first, directory.path + "/.config/containers/auth.json", docker + "/config.json",
            ])
        let found = try ContainerAuthFiles.credential(for: "reg.example:5000", environment: environment)
        #expect(found == Credential(username: "me", password: "p:w"))
        #expect(try ContainerAuthFiles.credential(for: "other.example", environment: environment)?.username == "x")
        #expect(try ContainerAuthFiles.credential(for: "none.example", environment: environment) == nil)
        #expect(!"\(found!)".contains("p:w"))
    }

    @Test func aBrokenEntryIsAnErrorThatDoesNotEchoIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.appending("auth.json")
        try writeFile(file, #"{"auths": {"reg.example": {"auth": "not-base64-secret!"}}}"#)
        #expect {
            try ContainerAuthFiles.credential(
                for: "reg.example", environment: ["REGISTRY_AUTH_FILE": file, "HOME": "/nonexistent"])
        } throws: { error in
            let text = "\(error)"
            return text.contains("auth.json") && !text.contains("not-base64-secret") && !text.contains("\n")
        }
    }
}

@Suite struct ImageArchiveTests {
    /// An image tarball in the layout kbuild writes, made by GNU tar (with a long blob path, as a pax
    /// or GNU long-name header).
    func image(in directory: TemporaryDirectory, arch: String, layer: [UInt8]) async throws -> String {
        let root = directory.appending("image-\(arch)")
        let layerDigest = Digest.of(layer, .sha256)
        let config = Data(
            #"{"architecture":"\#(arch)","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(layerDigest)"]}}"#.utf8)
        let configDigest = Digest.of(config, .sha256)
        let manifest = Data(
            #"{"config":{"digest":"\#(configDigest)","mediaType":"application/vnd.oci.image.config.v1+json","size":\#(config.count)},"layers":[{"digest":"\#(layerDigest)","mediaType":"application/vnd.oci.image.layer.v1.tar","size":\#(layer.count)}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#
                .utf8)
        let manifestDigest = Digest.of(manifest, .sha256)
        let index =
            #"{"manifests":[{"digest":"\#(manifestDigest)","mediaType":"application/vnd.oci.image.manifest.v1+json","platform":{"architecture":"\#(arch)","os":"linux"},"size":\#(manifest.count)}],"schemaVersion":2}"#
        try FileManager.default.createDirectory(atPath: root + "/blobs/sha256", withIntermediateDirectories: true)
        try Data(layer).write(to: URL(fileURLWithPath: root + "/blobs/sha256/" + layerDigest.hex))
        try config.write(to: URL(fileURLWithPath: root + "/blobs/sha256/" + configDigest.hex))
        try manifest.write(to: URL(fileURLWithPath: root + "/blobs/sha256/" + manifestDigest.hex))
        try writeFile(root + "/index.json", index)
        let tarball = directory.appending("\(arch).tar")
        try await Tool.check("tar", ["--format=gnu", "-cf", tarball, "-C", root, "index.json", "blobs"])
        return tarball
    }

    @Test func readsTheManifestAndFindsEveryBlobsBytesInPlace() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let layer = pseudoRandomBytes(count: 70_000)
        let path = try await image(in: directory, arch: "arm64", layer: layer)
        let image = try ImageArchive(path: path)
        #expect(image.platform == OCIPlatform(architecture: "arm64", os: "linux"))
        #expect(image.manifestDigest == "sha256:" + Digest.of(image.manifest, .sha256).hex)
        #expect(image.blobs.count == 2)
        let last = try #require(image.blobs.last)
        let bytes = try TarIndex.read(path, offset: last.offset, count: Int(last.size))
        #expect(Array(bytes) == layer)
        #expect(last.digest == Digest.of(layer, .sha256).description)
    }

    @Test func theIndexIsTheSameBytesWhateverOrderTheImagesComeIn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let amd64 = try ImageArchive(path: try await image(in: directory, arch: "amd64", layer: [1, 2, 3]))
        let arm64 = try ImageArchive(path: try await image(in: directory, arch: "arm64", layer: [4, 5, 6]))
        #expect(OCIIndex.over([arm64, amd64]).bytes == OCIIndex.over([amd64, arm64]).bytes)
        #expect(OCIIndex.over([arm64, amd64]).manifests.map(\.platform?.architecture) == ["amd64", "arm64"])
    }

    @Test func aSymlinkOrNonImageIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try await image(in: directory, arch: "amd64", layer: [1])
        let link = directory.appending("link.tar")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(throws: PublishError.self) { try ImageArchive(path: link) }
        let notImage = directory.appending("plain.tar")
        try await Tool.check("tar", ["-cf", notImage, "-C", directory.path, "amd64.tar"])
        #expect(throws: PublishError.badImage(path: notImage, reason: "no index.json in it")) {
            try ImageArchive(path: notImage)
        }
    }

    /// Several index tags: repeats dropped, none taken for a per-arch name, and one that is no OCI tag refused.
    @Test func indexTagsAreDistinctAndValid() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let images = [(binary: "kubelet", tarball: try await image(in: directory, arch: "amd64", layer: [1]))]
        let publications = try ImagePublication.group(
            images, tags: { ["v1", "latest", "v1", $0] }, repository: { "team/" + $0 })
        #expect(publications.map(\.tags) == [["v1", "latest", "kubelet"]])
        #expect(
            publications.map { $0.references(host: "r") } == [
                ["r/team/kubelet:v1", "r/team/kubelet:latest", "r/team/kubelet:kubelet"]
            ])
        #expect(throws: PublishError.badTag(binary: "kubelet", tag: "v1+meta")) {
            try ImagePublication.group(images, tags: { _ in ["latest", "v1+meta"] }, repository: { $0 })
        }
    }

    @Test func versionTagsReplacePlus() {
        #expect(ImagePublication.tag(version: "v1.4.0+build.7") == "v1.4.0_build.7")
        #expect(PublishRegistry("localhost:5000/team").repository("kubelet") == "team/kubelet")
        #expect(PublishRegistry("registry.k8s.io").repository("kubelet") == "kubelet")
    }
}

@Suite struct RegistryClientTests {
    /// A layer over the chunk size goes up in PATCH chunks; skopeo reads back the same bytes (its dir:
    /// transport keeps layers as the registry serves them).
    @Test func aLargeLayerIsPushedInChunksAndReadsBackIdentical() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let layer = pseudoRandomBytes(count: RegistryClient.chunkSize * 2 + 12345, seed: 7)
        let image = try ImageArchive(
            path: try await ImageArchiveTests().image(in: directory, arch: "amd64", layer: layer))
        let index = OCIIndex.over([image]).bytes
        let publication = ImagePublication(
            binary: "big", repository: "team/big", tags: ["v1"], images: [image], index: index,
            indexDigest: OCIJSON.digest(index), archTags: [])
        let client = RegistryClient(host: registry.host, plainHTTP: true, credential: nil)
        let events = Mutex<[WorkProgress]>([])
        let summary = try await ImagePublisher(client: client).push([publication]) { event in
            if case .progress(let progress) = event { events.withLock { $0.append(progress) } }
        }
        #expect(summary.blobsPushed == 2 && summary.tagsSet == 1)
        let patches = try registry.requests().filter { $0.hasPrefix("PATCH ") }
        #expect(patches.count == 3, "two whole chunks and the rest")
        // The bytes move chunk by chunk, and end at the image's blobs' size.
        let progress = events.withLock { $0 }
        let total = image.blobs.reduce(Int64(0)) { $0 + $1.size }
        #expect(progress.last?.finished == true && progress.last?.done == total, "\(progress)")
        let chunk = Int64(RegistryClient.chunkSize)
        #expect(progress.contains { $0.done >= chunk && $0.done <= chunk + 4096 }, "\(progress.map(\.done))")
        #expect(progress.allSatisfy { $0.subject == registry.host + "/team/big" && $0.total == total })

        try await Tool.check(
            "skopeo",
            ["copy", "--src-tls-verify=false", "docker://\(registry.host)/team/big:v1", "dir:\(directory.path)/copy"])
        let copied = try Data(
            contentsOf: URL(fileURLWithPath: directory.path + "/copy/" + Digest.of(layer, .sha256).hex))
        #expect(Array(copied) == layer)
    }
}

/// A chunked upload interrupted between chunks goes on from what the registry holds; one cut in the
/// middle of a chunk starts afresh (Distribution refuses a session holding part of a chunk). Faults by
/// Tests/Fixtures/fault-proxy.py in front of the real docker-registry; skopeo reads the layers back.
@Suite struct ChunkedUploadFaultTests {
    @Test func aChunkRefusedResumesAndAChunkCutStartsAfresh() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = try await RegistryServer.start()
        defer { registry.stop() }
        let proxy = try await FaultProxy(
            upstream: registry.port,
            rules: [
                .status(503, "PATCH", "/team/paused/", skip: 1, count: 1),
                .reset("PATCH", "/team/cut/", skip: 1, count: 1),
            ], scratch: directory.path)
        defer { proxy.stop() }
        let layer = pseudoRandomBytes(count: RegistryClient.chunkSize * 2 + 12345, seed: 11)
        let image = try ImageArchive(
            path: try await ImageArchiveTests().image(in: directory, arch: "amd64", layer: layer))
        let index = OCIIndex.over([image]).bytes
        let publications = ["paused", "cut"].map { name in
            ImagePublication(
                binary: name, repository: "team/" + name, tags: ["v1"], images: [image], index: index,
                indexDigest: OCIJSON.digest(index), archTags: [])
        }
        let client = RegistryClient(host: proxy.host, plainHTTP: true, credential: nil)
        let summary = try await ImagePublisher(client: client).push(publications) { _ in }
        #expect(summary.blobsPushed == 4 && summary.tagsSet == 2)

        let requests = try proxy.requests()
        func seen(_ repository: String, _ method: String) -> [ProxiedRequest] {
            requests.filter { $0.path.hasPrefix("/v2/team/\(repository)/blobs/uploads/") && $0.method == method }
        }
        // Refused between chunks: the registry's Range says where to go on; no chunk is sent twice.
        #expect(seen("paused", "PATCH").map(\.action) == ["forward", "status", "forward", "forward"])
        #expect(seen("paused", "GET").map(\.status) == [204])
        #expect(seen("paused", "POST").count == 2, "the layer's upload and the config's")
        // Cut mid-chunk: afresh, from the first chunk.
        #expect(seen("cut", "PATCH").map(\.action) == ["forward", "reset", "forward", "forward", "forward"])
        #expect(seen("cut", "POST").count == 3)
        for name in ["paused", "cut"] {
            let copy = directory.path + "/copy-" + name
            try await Tool.check(
                "skopeo",
                ["copy", "--src-tls-verify=false", "docker://\(registry.host)/team/\(name):v1", "dir:\(copy)"])
            let copied = try Data(contentsOf: URL(fileURLWithPath: copy + "/" + Digest.of(layer, .sha256).hex))
            #expect(Array(copied) == layer, "\(name)")
        }
    }
}
