import Foundation
import KbuildArtifact
import KbuildCore
import TestSupport
import Testing

@testable import KbuildRelease

@Suite struct ReleasePlannerTests {
    @Test func theMatrixBuildsEachBinaryOncePerPlatformOfItsKinds() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let builds = fixture.plan.builds.map { "\($0.platform) \($0.binary)" }
        // kube-proxy and kubelet ship in server and node; the server tarball also carries kubectl.
        #expect(
            builds == [
                "linux/amd64 kube-proxy", "linux/amd64 kubectl", "linux/amd64 kubelet",
                "linux/arm64 kube-proxy", "linux/arm64 kubelet",
                "windows/amd64 kubectl",
            ])
        let windows = try #require(fixture.plan.builds.first { $0.platform.os == "windows" })
        #expect(windows.output == fixture.plan.layout.root + "/local/bin/windows/amd64/kubectl.exe")
    }

    @Test func imagesAreForImageBinariesOnLinuxServerPlatformsOnly() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let images = fixture.plan.images
        #expect(images.map(\.request.binary) == ["kube-proxy"])
        #expect(images[0].tarball == fixture.plan.layout.root + "/release-images/amd64/kube-proxy.tar")
        #expect(images[0].tagFile == images[0].request.dockerTagPath)
    }

    @Test func tarballsNestedOnesFirstAndTheFullOneLast() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let tarballs = fixture.plan.archives
        #expect(
            tarballs.map(\.name) == [
                "kubernetes-src.tar.gz", "kubernetes-manifests.tar.gz",
                "kubernetes-client-linux-amd64.tar.gz", "kubernetes-client-windows-amd64.tar.gz",
                "kubernetes-server-linux-amd64.tar.gz", "kubernetes-node-linux-arm64.tar.gz",
                "kubernetes.tar.gz",
            ])
        let server = try #require(tarballs.first { $0.kind == .server })
        #expect(server.binaries == ["kube-proxy", "kubectl", "kubelet"])
        #expect(server.images == ["kube-proxy"])
        let nested = Set(tarballs.flatMap(\.nestedArchives))
        #expect(tarballs.filter { nested.contains($0.name) }.map(\.kind) == [.src, .manifests])
    }

    @Test func imageNamesFollowTheConfigsTemplate() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        var config = fixture.plan.config
        config.images.name = try NameTemplate("{{project}}/{{binary}}-{{arch | uname}}")
        let plan = ReleasePlanner.plan(
            config: config, version: fixture.plan.version, sourceDate: fixture.plan.sourceDate,
            workspace: fixture.plan.workspace)
        #expect(plan.images.map(\.request.repositories) == [["registry.k8s.io/kubernetes/kube-proxy-x86_64"]])
        #expect(plan.document.images.map(\.repository) == ["registry.k8s.io/kubernetes/kube-proxy-x86_64"])
    }

    @Test func planningIsPure() throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let again = ReleasePlanner.plan(
            config: fixture.plan.config, version: fixture.plan.version, sourceDate: fixture.plan.sourceDate,
            workspace: fixture.plan.workspace)
        #expect(again.rendered == fixture.plan.rendered)
        #expect(again.document == fixture.plan.document)
    }
}

@Suite struct OutputCacheTests {
    @Test func aRecordHitsUntilAnOutputOrAnInputChanges() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = OutputCache(directory: dir.appending("cache"))
        let output = dir.appending("out.bin")
        try writeFile(output, "one")
        let unit = try CacheUnit(step: .build, inputs: ["sources", "go1.19"], outputs: [output])
        #expect(await cache.lookup(unit) == nil)
        await cache.record(unit, payload: Data("payload".utf8))
        #expect(await cache.lookup(unit) == Data("payload".utf8))

        let changedInput = try CacheUnit(step: .build, inputs: ["sources", "go1.20"], outputs: [output])
        #expect(await cache.lookup(changedInput) == nil)
        var otherOutputs = unit
        otherOutputs.outputs.append(dir.appending("other"))
        #expect(await cache.lookup(otherOutputs) == nil)

        // A rewrite renamed into place is a new file, even with the same bytes.
        try FileOutput.writeAtomically("one", to: output)
        #expect(await cache.lookup(unit) == nil)
    }

    @Test func keysAreTheDigestOfTheInputsCanonicalJSONPerStep() throws {
        struct Inputs: Encodable {
            var a: String
            var b: String
        }
        // Moving text between fields changes the key; so does the step; equal values give equal keys.
        #expect(
            try OutputCache.key(.build, Inputs(a: "ab", b: "c")) != OutputCache.key(.build, Inputs(a: "a", b: "bc")))
        #expect(try OutputCache.key(.build, Inputs(a: "a", b: "b")) == OutputCache.key(.build, Inputs(a: "a", b: "b")))
        #expect(try OutputCache.key(.build, Inputs(a: "a", b: "b")) != OutputCache.key(.image, Inputs(a: "a", b: "b")))
        let unit = try CacheUnit(step: .image, inputs: Inputs(a: "x", b: "y"), outputs: [])
        #expect(try unit.key == OutputCache.key(.image, Inputs(a: "x", b: "y")))
    }
}
