import Foundation
import TestSupport
import Testing

/// `kbuild verify` checks a configured layout from the plan: a missing, extra, retyped or re-moded entry,
/// a symlink out of the archive or a hardlink to /etc/shadow fails, named, in tar.gz and zip alike, even
/// with the sums, side files and artifacts.json resealed over the tampered archive.
@Suite(.serialized) struct LayoutVerifyTests {
    /// Rewrites one archive with python3's tarfile or zipfile, then reseals every digest of it.
    static let tamper = #"""
        import hashlib, io, json, os, sys, tarfile, time, zipfile
        tars, name, op, target = sys.argv[1:5]
        path = os.path.join(tars, name)
        def info_for(member_name, data=b"", mode=0o644):
            info = tarfile.TarInfo(member_name); info.size = len(data); info.mode = mode; info.mtime = 1700000000
            return info
        if name.endswith(".tar.gz"):
            src = tarfile.open(path, "r:gz"); members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
            out = tarfile.open(path + ".new", "w:gz", format=tarfile.PAX_FORMAT)
            for m, data in members:
                if op == "missing" and m.name == target: continue
                if op == "retype" and m.name == target:
                    m.type = tarfile.SYMTYPE; m.linkname = "elsewhere"; m.size = 0; data = None
                if op == "remode" and m.name == target: m.mode = 0o700
                out.addfile(m, io.BytesIO(data) if data is not None else None)
            if op == "extra": out.addfile(info_for(target, b"extra\n"), io.BytesIO(b"extra\n"))
            if op == "symlink":
                link = info_for(target); link.type = tarfile.SYMTYPE; link.linkname = "/outside"; out.addfile(link)
                out.addfile(info_for(target + "/pwned", b"x\n"), io.BytesIO(b"x\n"))
            if op == "hardlink":
                link = info_for(target); link.type = tarfile.LNKTYPE; link.linkname = "/etc/shadow"; out.addfile(link)
            out.close()
        else:
            src = zipfile.ZipFile(path); out = zipfile.ZipFile(path + ".new", "w", zipfile.ZIP_DEFLATED)
            for info in src.infolist():
                data = src.read(info)
                if op == "missing" and info.filename.rstrip("/") == target: continue
                if op == "retype" and info.filename == target: info.external_attr = (0o120777 << 16); data = b"elsewhere"
                if op == "remode" and info.filename == target: info.external_attr = (0o100700 << 16)
                out.writestr(info, data)
            if op == "extra": out.writestr(zipfile.ZipInfo(target, (2024, 1, 2, 3, 4, 6)), b"extra\n")
            if op == "symlink":
                link = zipfile.ZipInfo(target, (2024, 1, 2, 3, 4, 6)); link.external_attr = 0o120777 << 16
                out.writestr(link, b"/outside")
            out.close()
        os.replace(path + ".new", path)
        data = open(path, "rb").read()
        sha256, sha512 = hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest()
        for file in os.listdir(tars):
            full = os.path.join(tars, file)
            if file == name + ".sha256sum": open(full, "w").write(f"{sha256}  {name}\n")
            elif file == name + ".sha256": open(full, "w").write(sha256 + "\n")
            elif file == name + ".sha512": open(full, "w").write(sha512 + "\n")
            elif file.endswith("SUMS") or file == "checksums.txt":
                lines = open(full).read().splitlines()
                digest = sha512 if "512" in file else sha256
                open(full, "w").write("".join((f"{digest}  {name}" if l.endswith("  " + name) else l) + "\n" for l in lines))
        artifacts = json.load(open(os.path.join(tars, "artifacts.json")))
        for a in artifacts:
            if a["name"] == name: a["sha256"], a["size"] = sha256, len(data)
        json.dump(artifacts, open(os.path.join(tars, "artifacts.json"), "w"), indent=2, sort_keys=True)
        """#

    /// Releases the layout once (`kubernetes`: the example workspace), then for each case restores the
    /// release, tampers and verifies.
    static func check(
        _ layout: String, tag: String, archive: String, cases: [(op: String, target: String, named: String)]
    ) async throws {
        let dir = try TemporaryDirectory("kbuild-layout-verify")
        defer { dir.remove() }
        let workspace = dir.appending(layout)
        if layout == "kubernetes" {
            _ = try await Repository.exampleWorkspace(in: workspace, tag: tag)
        } else {
            _ = try await Repository.layoutWorkspace(layout, in: workspace, tag: tag)
        }
        // Kubernetes' example on one platform: its server tarball is what the cases tamper with.
        let platforms = layout == "kubernetes" ? "linux/amd64" : nil
        let release = try await runKbuild(
            ["release"], in: workspace, ["SOURCE_DATE_EPOCH": "1700000000", "KUBE_BUILD_PLATFORMS": platforms])
        try #require(release.succeeded, "\(release.stderr)")
        let verified = try await runKbuild(["verify"], in: workspace)
        #expect(verified.succeeded, "\(verified.stdout)")
        let tars = workspace + "/_output/release-tars"
        let pristine = dir.appending("pristine")
        try FileManager.default.copyItem(atPath: tars, toPath: pristine)
        for (op, target, named) in cases {
            try FileManager.default.removeItem(atPath: tars)
            try FileManager.default.copyItem(atPath: pristine, toPath: tars)
            try await Tool.check("python3", ["-c", Self.tamper, tars, archive, op, target])
            let result = try await runKbuild(["verify"], in: workspace)
            #expect(!result.succeeded, "\(op) \(target): verify passed")
            let line = result.stdout.split(separator: "\n").first {
                $0.contains("FAIL entries    \(archive)!\(named):")
            }
            #expect(line != nil, "\(op) \(target): no failure naming \(archive)!\(named) in\n\(result.stdout)")
            // The sums were resealed: what catches the tampering is the entry check, not a digest.
            #expect(!result.stdout.contains("FAIL sha256"), "\(op): \(result.stdout)")
        }
    }

    @Test func tarGzEntriesAreCheckedFromThePlan() async throws {
        try await Self.check(
            "containerd", tag: "v1.6.20", archive: "containerd-1.6.20-linux-amd64.tar.gz",
            cases: [
                ("missing", "bin/ctr", "bin/ctr"), ("extra", "bin/sneaky", "bin/sneaky"),
                ("retype", "bin/containerd", "bin/containerd"),
                ("remode", "bin/containerd-stress", "bin/containerd-stress"),
                ("symlink", "bin/lnk", "bin/lnk"), ("hardlink", "bin/shadow", "bin/shadow"),
            ])
    }

    @Test func zipEntriesAreCheckedFromThePlan() async throws {
        let wrap = "etcd-v3.5.9-windows-amd64"
        try await Self.check(
            "etcd", tag: "v3.5.9", archive: "\(wrap).zip",
            cases: [
                ("missing", "\(wrap)/README-etcdctl.md", "\(wrap)/README-etcdctl.md"),
                ("extra", "\(wrap)/sneaky.exe", "\(wrap)/sneaky.exe"),
                ("retype", "\(wrap)/etcd.exe", "\(wrap)/etcd.exe"),
                ("remode", "\(wrap)/etcdctl.exe", "\(wrap)/etcdctl.exe"),
                ("symlink", "\(wrap)/Documentation/lnk", "\(wrap)/Documentation/lnk"),
            ])
    }

    /// Kubernetes' server tarball, checked from the same plan: a symlink out of it with a file behind it,
    /// and a hardlink to /etc/shadow, in its bin/ directory.
    @Test func kubernetesTarballLinksAreRefused() async throws {
        let bin = "kubernetes/server/bin"
        try await Self.check(
            "kubernetes", tag: "v1.2.3", archive: "kubernetes-server-linux-amd64.tar.gz",
            cases: [
                ("symlink", "\(bin)/lnk", "\(bin)/lnk"), ("hardlink", "\(bin)/shadow", "\(bin)/shadow"),
                ("remode", "\(bin)/kubelet", "\(bin)/kubelet"),
            ])
    }
}
