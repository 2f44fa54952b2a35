import Foundation
import KbuildCore
import KbuildGo
import KbuildProof
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
        let workspace = try await StepRunner(context: context).readWorkspace(nil)
        var draft = ReleaseDraft()
        _ = try await ImagesStep().run(&draft, in: context)
        #expect(workspace.tracked.contains("cmd/kubectl/main.go"))
        let scratch = PackageScratch(fixture.plan.layout)
        let outcome = try await StageStep(scratch: scratch, tracked: workspace.tracked).run(&draft, in: context)
        #expect(outcome == .staged(directory: fixture.plan.layout.releaseStage))
        let stage = scratch.stage
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
        try FileManager.default.removeItem(atPath: scratch.tars)
    }

    @Test func imagesWithoutImageBinariesAreSkippedWithTheReason() async throws {
        var fixture = try ReleaseFixture()
        defer { fixture.remove() }
        fixture = fixture.withoutImages()
        var draft = ReleaseDraft()
        #expect(try await ImagesStep().run(&draft, in: fixture.context()) == .skipped(.noImageBinaries))
    }

    @Test func aReleaseOfTheStandInsVerifiesWithSha256sumAndIsReusedWhole() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        let tars = fixture.plan.layout.releaseTars
        let first = EventLog()
        let artifacts = try await fixture.pipeline().release { first.record($0) }
        #expect(first.outcomes.map(\.0) == [.images, .stage, .pack, .sbom, .checksums, .provenance, .publish])
        let plan = fixture.plan
        #expect(
            first.outcomes.map(\.1) == [
                .wroteImages(count: 1, upToDate: 0), .staged(directory: plan.layout.releaseStage),
                .packed(archives: plan.archives.count),
                .wroteSBOM(file: SBOM.fileName(project: plan.project), binaries: plan.builds.count),
                .summed(files: plan.archives.count + 1, images: 1),
                .wroteProvenance(file: Provenance.fileName(project: plan.project), signature: nil),
                .published(directory: plan.layout.releaseTars),
            ])
        #expect(first.outcomes.allSatisfy { $0.1.kind == .done })
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
        // So does the images step, per image written.
        let imaging = first.progress.filter { $0.activity == .image }
        #expect(
            imaging.last
                == WorkProgress(
                    activity: .image, subject: "release-images", done: 1, total: 1, unit: .files, finished: true))
        let request = try #require(fixture.plan.images.first).request
        #expect(imaging.contains { $0.waiting == ["\(request.binary) \(request.platform)"] }, "\(imaging)")
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
        #expect(second.outcomes.first?.1 == .wroteImages(count: 0, upToDate: 1))
        #expect(second.outcomes.dropFirst().allSatisfy { $0.1 == .reused })
        #expect(
            try FileManager.default.attributesOfItem(atPath: tars + "/SHA256SUMS")[.systemFileNumber] as? Int == inode)

        // A rebuilt binary is packed again.
        try fixture.writeBinary(fixture.plan.builds[1], "a new kubectl\n")
        let third = EventLog()
        _ = try await fixture.pipeline().release { third.record($0) }
        #expect(third.outcomes.first { $0.0 == .pack }?.1 == .packed(archives: 7))
        try await Tool.check("sha256sum", ["-c", "--strict", "SHA256SUMS"], in: tars)
    }

    /// The one place outcomes become text: the lines the CLI prints (and `--log-format json` carries).
    @Test(
        arguments: [
            (.built(count: 2, upToDate: 1, sandbox: .off), "2 built, 1 up to date, sandbox: off", .done),
            (.built(count: 0, upToDate: 3, sandbox: nil), "0 built, 3 up to date", .reused),
            (.wroteImages(count: 0, upToDate: 1), "0 written, 1 up to date", .reused),
            (.wroteImages(count: 2, upToDate: 0), "2 written, 0 up to date", .done),
            (.packed(archives: 7), "7 tarballs", .done),
            (.summed(files: 8, images: 1), "8 files in the sums, 1 images in artifacts.json", .done),
            (
                .wroteProvenance(
                    file: "kubernetes.intoto.jsonl",
                    signature: .init(file: "SHA256SUMS.sig", keyID: String(repeating: "ab", count: 32))),
                "kubernetes.intoto.jsonl and SHA256SUMS.sig, signed by key abababababababab", .done
            ),
            (
                .wroteProvenance(file: "kubernetes.intoto.jsonl", signature: nil), "kubernetes.intoto.jsonl, unsigned",
                .done
            ),
            (
                .sharded(directory: "/w/_output/shards/1-of-2", binaries: 3, images: 1),
                "/w/_output/shards/1-of-2: 3 binaries, 1 images", .done
            ),
            (.merged(shards: 2, binaries: 6, images: 2), "2 shards, 6 binaries, 2 images", .done),
            (.reused, "nothing changed since the last release", .reused),
            (.skipped(.noImageBinaries), "no binary has image: true", .skipped),
        ] as [(StepOutcome, String, StepOutcome.Kind)])
    func outcomesRenderAsTheCLIPrintsThem(outcome: StepOutcome, text: String, kind: StepOutcome.Kind) {
        #expect(outcome.summary == text)
        #expect(outcome.kind == kind)
    }

    @Test func aFailingStepLeavesThePreviousReleaseAndNoTemporaries() async throws {
        let fixture = try ReleaseFixture()
        defer { fixture.remove() }
        _ = try await fixture.pipeline().release()
        let tars = fixture.plan.layout.releaseTars
        let before = try Data(contentsOf: URL(fileURLWithPath: tars + "/SHA256SUMS"))
        try writeFile(fixture.plan.workspace + "/cluster/addons/unlabelled.yaml", "apiVersion: v1\nkind: ConfigMap\n")
        await #expect(throws: ReleaseError.missingAddonLabel(path: "cluster/addons/unlabelled.yaml")) {
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
    func withoutImages() -> ReleaseFixture {
        var config = plan.config
        config.binaries = config.binaries.map { binary in
            var binary = binary
            binary.image = false
            return binary
        }
        return ReleaseFixture(
            directory: directory,
            plan: ReleasePlanner.plan(
                config: config, version: plan.version, sourceDate: plan.sourceDate, workspace: plan.workspace))
    }
}
