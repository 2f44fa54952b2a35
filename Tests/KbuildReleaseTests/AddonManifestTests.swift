import Foundation
import KbuildCore
import TestSupport
import Testing

@testable import KbuildRelease

@Suite struct AddonManifestTests {
    func workspace(_ files: [String: String]) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("kbuild-addons")
        for (path, text) in files { try writeFile(dir.appending(path), text) }
        return dir
    }

    static let labelled = """
        apiVersion: v1
        kind: Service
        metadata:
          name: dns
          labels:
            kubernetes.io/cluster-service: "true"
        """

    @Test func findsLabelledManifestsSortedAndHonoursExcludes() throws {
        let dir = try workspace([
            "cluster/addons/dns/coredns-1.11.yaml": Self.labelled,
            "cluster/addons/dashboard/dashboard-2.7.yaml.in": Self.labelled,
            "cluster/addons/metrics/metrics.json":
                #"{"metadata": {"labels": {"addonmanager.kubernetes.io/mode": "Reconcile"}}}"#,
            "cluster/addons/demo/demo.yaml": "kind: Pod\n",
            "cluster/addons/dns/README.md": "not a manifest\n",
        ])
        defer { dir.remove() }
        let found = try AddonManifests.find(
            workspace: dir.path, directories: ["cluster/addons"], exclude: ["**/demo/**"])
        #expect(
            found.map(\.relativePath) == [
                "dashboard/dashboard-2.7.yaml.in", "dns/coredns-1.11.yaml", "metrics/metrics.json",
            ])
    }

    @Test func aManifestWithoutTheLabelIsNamedInTheError() throws {
        let dir = try workspace([
            "cluster/addons/dns/coredns.yaml": Self.labelled
                + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
        ])
        defer { dir.remove() }
        #expect(throws: ReleaseError.missingAddonLabel(path: "cluster/addons/dns/coredns.yaml (document 2)")) {
            try AddonManifests.find(workspace: dir.path, directories: ["cluster/addons"], exclude: [])
        }
    }

    @Test func aSymlinkLeavingTheWorkspaceIsRefused() throws {
        let dir = try workspace(["ws/cluster/addons/dns/ok.yaml": Self.labelled, "outside/secret.yaml": Self.labelled])
        defer { dir.remove() }
        try FileManager.default.createSymbolicLink(
            atPath: dir.appending("ws/cluster/addons/evil.yaml"),
            withDestinationPath: dir.appending("outside/secret.yaml"))
        let evil = dir.appending("ws/cluster/addons/evil.yaml")
        #expect(
            throws: ReleaseError.unsafeInput(
                path: evil, reason: WorkspaceTree.outsideReason(dir.appending("outside/secret.yaml")))
        ) {
            try AddonManifests.find(workspace: dir.appending("ws"), directories: ["cluster/addons"], exclude: [])
        }
    }
}

@Suite struct OutputLockTests {
    @Test func aSecondLockOnTheSameOutputIsRefusedNamingTheHolder() throws {
        let dir = try TemporaryDirectory("kbuild-lock")
        defer { dir.remove() }
        let path = dir.appending("_output/.kbuild.lock")
        let first = try OutputLock(path: path)
        #expect(throws: ReleaseError.locked(path: path, holder: "pid \(getpid())")) {
            _ = try OutputLock(path: path)
        }
        withExtendedLifetime(first) {}
    }
}
