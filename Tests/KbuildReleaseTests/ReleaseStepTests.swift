import Foundation
import KbuildCore
import KbuildGo
import TestSupport
import Testing

@testable import KbuildRelease

/// Each step against the fixture's in-memory plan and a temp directory; outcomes asserted, outputs
/// checked with GNU tar and sha256sum.
@Suite struct ReleaseStepTests {
    @Test func stageLaysOutTheKubernetesTreeInATemporarySibling() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let context = fixture.context()
        var draft = try await StepRunner(context: context).draft(nil, packaging: true)
        _ = try await ImagesStep().run(&draft, in: context)
        #expect(draft.tracked.contains("cmd/kubectl/main.go"))
        let outcome = try await StageStep().run(&draft, in: context)
        #expect(outcome == .done(fixture.plan.layout.releaseStage))
        let stage = draft.stageRoot
        #expect(stage.contains(".release-stage.kbuild-tmp-"))
        for path in [
            "client/windows-amd64/kubernetes/client/bin/kubectl.exe",
            "server/linux-amd64/kubernetes/server/bin/kube-proxy", "server/linux-amd64/kubernetes/server/bin/kubectl",
            "server/linux-amd64/kubernetes/addons/dns.yaml", "node/linux-arm64/kubernetes/node/bin/kubelet",
            "manifests/kubernetes/addons/dns.yaml", "full/kubernetes/version",
            "full/kubernetes/cluster/addons/dns.yaml",
            "src/cmd/kubectl/main.go", "src/.kube-git-version",
        ] {
            #expect(FileManager.default.fileExists(atPath: stage + "/" + path), "\(path)")
        }
        try FileManager.default.removeItem(atPath: stage)
        try FileManager.default.removeItem(atPath: draft.tarsRoot)
    }

    @Test func imagesWithoutImageBinariesAreSkippedWithTheReason() async throws {
        var fixture = try ReleaseFixture()
        defer { fixture.remove() }
        fixture = try fixture.withoutImages()
        var draft = ReleaseDraft(sources: "")
        #expect(try await ImagesStep().run(&draft, in: fixture.context()) == .skipped("no binary has image: true"))
    }

    @Test func aReleaseOfTheStandInsVerifiesWithSha256sumAndIsReusedWhole() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let tars = fixture.plan.layout.releaseTars
        let first = EventLog()
        let artifacts = try await fixture.pipeline().release { first.record($0) }
        #expect(first.outcomes.map(\.0) == ["images", "stage", "pack", "sbom", "checksums", "provenance", "publish"])
        #expect(first.outcomes.allSatisfy { if case .done = $0.1 { true } else { false } })
        #expect(artifacts.map(\.kind).filter { $0 == .image }.count == 1)
        // Packing reports each tarball under way and done, and ends with all of them.
        let packing = first.progress.filter { $0.activity == .pack }
        let tarballs = Int64(fixture.plan.archives.count)
        #expect(
            packing.last
                == WorkProgress(
                    activity: .pack, subject: "release-tars", done: tarballs, total: tarballs, unit: .files,
                    finished: true))
        #expect(packing.map(\.done) == packing.map(\.done).sorted() && packing.contains { !$0.waiting.isEmpty })
        #expect(Set(packing.flatMap(\.waiting)) == Set(fixture.plan.archives.map(\.name)))
        try await Tool.check("sha256sum", ["-c", "--strict", "SHA256SUMS"], in: tars)
        try await Tool.check("sha512sum", ["-c", "--strict", "SHA512SUMS"], in: tars)
        let server = try await Tool.check("tar", ["-tzf", tars + "/kubernetes-server-linux-amd64.tar.gz"])
        #expect(server.contains("kubernetes/server/bin/kube-proxy.tar\n"))
        #expect(server.contains("kubernetes/server/bin/kube-proxy.docker_tag\n"))
        #expect(server.contains("kubernetes/kubernetes-src.tar.gz\n"))

        // Nothing changed: every package step reports reuse and release-tars are not rewritten.
        let inode = try FileManager.default.attributesOfItem(atPath: tars + "/SHA256SUMS")[.systemFileNumber] as? Int
        let second = EventLog()
        let again = try await fixture.pipeline().release { second.record($0) }
        #expect(again == artifacts)
        #expect(second.outcomes.first?.1 == .reused("0 written, 1 up to date"))
        #expect(second.outcomes.dropFirst().allSatisfy { $0.1 == .reused("nothing changed since the last release") })
        #expect(
            try FileManager.default.attributesOfItem(atPath: tars + "/SHA256SUMS")[.systemFileNumber] as? Int == inode)

        // A rebuilt binary is packed again.
        try fixture.writeBinary(fixture.plan.builds[1], "a new kubectl\n")
        let third = EventLog()
        _ = try await fixture.pipeline().release { third.record($0) }
        #expect(third.outcomes.first { $0.0 == "pack" }?.1 == .done("7 tarballs"))
        try await Tool.check("sha256sum", ["-c", "--strict", "SHA256SUMS"], in: tars)
    }

    @Test func aFailingStepLeavesThePreviousReleaseAndNoTemporaries() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        _ = try await fixture.pipeline().release()
        let tars = fixture.plan.layout.releaseTars
        let before = try Data(contentsOf: URL(fileURLWithPath: tars + "/SHA256SUMS"))
        // Planning checks the add-on labels (it lists every manifest); stage then fails on a planned file gone.
        try writeFile(fixture.plan.workspace + "/cluster/addons/unlabelled.yaml", "apiVersion: v1\nkind: ConfigMap\n")
        #expect(throws: ReleaseError.missingAddonLabel(path: "cluster/addons/unlabelled.yaml")) {
            try ReleasePlanner.plan(
                config: fixture.plan.config, version: fixture.plan.version, sourceDate: fixture.plan.sourceDate,
                workspace: fixture.plan.workspace)
        }
        let gone = fixture.plan.workspace + "/cluster/addons/dns.yaml"
        try FileManager.default.removeItem(atPath: gone)
        await #expect(
            throws: ReleaseError.missingInput(
                path: gone, what: "file the release plan lists (it was there when planned)")
        ) {
            _ = try await fixture.pipeline().release()
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: tars + "/SHA256SUMS")) == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.plan.layout.root)
            .filter { $0.contains("kbuild-tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func noEntryPointRunsWithoutTheLock() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let lock = try OutputLock(path: fixture.plan.layout.lockFile)
        defer { withExtendedLifetime(lock) {} }
        let locked = ReleaseError.locked(path: fixture.plan.layout.lockFile, holder: "pid \(getpid())")
        await #expect(throws: locked) { _ = try await fixture.pipeline().release() }
        await #expect(throws: locked) { _ = try await fixture.pipeline().images() }
        await #expect(throws: locked) { try await fixture.pipeline().build() }
    }

    @Test func buildWithoutGoSaysWhyGoWasNotFound() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        await #expect(throws: GoBuildError.goNotFound(searchedPath: "")) { try await fixture.pipeline().build() }
    }
}

extension ReleaseFixture {
    /// The same workspace with no image binaries.
    func withoutImages() throws -> ReleaseFixture {
        var config = plan.config
        config.binaries = config.binaries.map { binary in
            var binary = binary
            binary.image = false
            return binary
        }
        return ReleaseFixture(
            directory: directory,
            plan: try ReleasePlanner.plan(
                config: config, version: plan.version, sourceDate: plan.sourceDate, workspace: plan.workspace))
    }
}
