import Foundation
import KbuildArtifact
import KbuildCore
import TestSupport
import Testing

@testable import KbuildVerify

/// `TarballVerifier` (Kubernetes' layout) on client tarballs written by Python's tarfile: binaries are
/// this machine's /bin/true (an x86-64 ELF) with or without the version appended. Each case asserts the
/// failed check's family and subject (`<tarball>` or `<tarball>!<entry>`).
@Suite struct TarballVerifierTests {
    static let name = "kubernetes-client-linux-amd64.tar.gz"
    static let artifact = ReleaseArtifact(
        name: name, path: "release-tars/" + name, kind: .client, os: "linux", arch: "amd64", size: 0, sha256: "")

    static func facts(shipping binaries: [String]?) -> ReleaseFacts {
        ReleaseFacts(
            project: "kubernetes", version: "v1.2.3", stampedVersion: "v1.2.3",
            binariesByArchive: binaries.map { [name: $0] }, imagesByArch: [:], nested: [:])
    }

    /// A client tarball of `entries`: name → "stamped" (/bin/true + the version), "bare" (/bin/true), or a
    /// symlink target prefixed with "->".
    func tarball(_ entries: [String: String], in dir: TemporaryDirectory) async throws -> String {
        let out = dir.appending(Self.name)
        let script = """
            import io, json, sys, tarfile
            out, entries = sys.argv[1], json.loads(sys.argv[2])
            elf = open("/bin/true", "rb").read()
            with tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT) as tar:
                for name, what in sorted(entries.items()):
                    info = tarfile.TarInfo(name)
                    if what.startswith("->"):
                        info.type, info.linkname = tarfile.SYMTYPE, what[2:]
                        tar.addfile(info)
                        continue
                    data = elf + (b"v1.2.3" if what == "stamped" else b"")
                    info.size, info.mode = len(data), 0o755
                    tar.addfile(info, io.BytesIO(data))
            """
        let json = String(decoding: try JSONEncoder().encode(entries), as: UTF8.self)
        try await Tool.check("python3", ["-c", script, out, json])
        return out
    }

    func failures(_ entries: [String: String], shipping: [String]?) async throws -> [String] {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await tarball(entries, in: dir)
        let (checks, _) = TarballVerifier(facts: Self.facts(shipping: shipping)).verify(path, artifact: Self.artifact)
        return checks.filter { $0.status == .fail }.map { "\($0.check) \($0.subject)" }
    }

    static let bin = "kubernetes/client/bin/"

    @Test func thePlannedBinariesPass() async throws {
        let entries = [Self.bin + "kubectl": "stamped", Self.bin + "kubeadm": "stamped"]
        #expect(try await failures(entries, shipping: ["kubectl", "kubeadm"]) == [])
    }

    @Test func aMissingBinaryNamesTheTarball() async throws {
        let failed = try await failures([Self.bin + "kubectl": "stamped"], shipping: ["kubectl", "kubeadm"])
        #expect(failed == ["layout \(Self.name)"])
    }

    @Test func anExtraBinaryIsNamed() async throws {
        let entries = [Self.bin + "kubectl": "stamped", Self.bin + "evil": "stamped"]
        #expect(try await failures(entries, shipping: ["kubectl"]) == ["layout \(Self.name)!\(Self.bin)evil"])
    }

    @Test func aBinaryWithoutTheVersionIsNamed() async throws {
        let failed = try await failures([Self.bin + "kubectl": "bare"], shipping: ["kubectl"])
        #expect(failed == ["binary \(Self.name)!\(Self.bin)kubectl"])
    }

    @Test func anEntryLeavingTheRootIsNamed() async throws {
        let entries = [Self.bin + "kubectl": "stamped", "../../etc/cron.d/evil": "stamped"]
        #expect(try await failures(entries, shipping: ["kubectl"]) == ["layout \(Self.name)!../../etc/cron.d/evil"])
    }

    @Test func withoutAPlanABinaryIsStillRequired() async throws {
        // A symlink is not a binary: the tarball has none.
        let failed = try await failures([Self.bin + "kubectl": "->/usr/bin/kubectl"], shipping: nil)
        #expect(failed == ["layout \(Self.name)"])
    }
}
