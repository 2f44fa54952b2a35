import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest
import KbuildImage
import TestSupport
import Testing

@Suite struct BaseImageTests {
    @Test func imageOnADockerArchiveBaseKeepsTheBaseLayerAndLoadsInPodman() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (layer, baseTar) = try Fixtures.dockerArchiveBase(in: dir)

        let base = try BaseImage.load(path: baseTar, scratch: dir.appending("scratch"))
        #expect(base.images.map(\.platformName) == ["linux/amd64"])
        let result = try ImageWriter(base: base).write(
            Fixtures.request(binaryPath: binary, output: dir.appending("out")))

        // The base layer travels unchanged, below ours.
        let config = try await Fixtures.config(of: result.tarball)
        let diffIDs = try #require((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String])
        let baseDigest = try layer.digests.sha256(of: layer.path)
        #expect(diffIDs.count == 2)
        #expect(diffIDs.first == baseDigest.description)
        try await Tool.check("tar", ["-xf", result.tarball, "-C", dir.path, "blobs/sha256/" + baseDigest.hex])
        #expect(
            FileManager.default.contentsEqual(
                atPath: dir.appending("blobs/sha256/" + baseDigest.hex), andPath: layer.path))
        // Env, user and working directory from the base; our entrypoint; the base's Cmd dropped.
        let settings = try #require(config["config"] as? [String: Any])
        #expect(settings["Env"] as? [String] == ["PATH=/usr/local/bin:/bin", "FOO=bar"])
        #expect(settings["User"] as? String == "65532")
        #expect(settings["WorkingDir"] as? String == "/work")
        #expect(settings["Entrypoint"] as? [String] == ["/usr/local/bin/hello"])
        #expect(settings["Cmd"] == nil)
        let history = try #require(config["history"] as? [[String: Any]])
        #expect(history.map { $0["created_by"] as? String }.first == "test base layer")
        #expect(history.count == 2)

        try await withPodmanStore { store in
            try await store.check(["load", "-i", result.tarball])
            #expect(try await store.names() == result.repoTags)
            let env = try await store.check(["image", "inspect", "--format", "{{.Config.Env}}", result.repoTags[0]])
            #expect(env.contains("FOO=bar"))
        }

        try await Tool.check(
            "skopeo", ["copy", "docker-archive:" + result.tarball, "oci:" + dir.appending("oci") + ":x"])
        try await Tool.check(
            "umoci", ["unpack", "--image", dir.appending("oci") + ":x", dir.appending("bundle")])
        let rootfs = dir.appending("bundle/rootfs")
        #expect(try String(contentsOfFile: rootfs + "/etc/base.txt", encoding: .utf8) == "from the base\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/bin/sh") == "/usr/local/bin/hello")
        #expect(FileManager.default.contentsEqual(atPath: rootfs + "/usr/local/bin/hello", andPath: binary))

        // Deterministic on a base too.
        let again = try ImageWriter(base: try BaseImage.load(path: baseTar, scratch: dir.appending("scratch2")))
            .write(Fixtures.request(binaryPath: binary, output: dir.appending("again")))
        #expect(again.sha256 == result.sha256)
    }

    @Test func anOCILayoutBaseWithGzipLayersWorks() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (layer, dockerBase) = try Fixtures.dockerArchiveBase(in: dir)
        let ociBase = dir.appending("base-oci.tar")
        try await Tool.check(
            "skopeo", ["copy", "--dest-compress", "docker-archive:" + dockerBase, "oci-archive:" + ociBase + ":base"])
        let raw = try Fixtures.json(try await Tool.check("skopeo", ["inspect", "--raw", "oci-archive:" + ociBase]))
        let mediaType = try #require((raw["layers"] as? [[String: Any]])?.first?["mediaType"] as? String)
        #expect(mediaType.hasSuffix("gzip"))

        let base = try BaseImage.load(path: ociBase, scratch: dir.appending("scratch"))
        let image = try base.image(for: Platform(os: "linux", arch: "amd64"))
        #expect(image.layers.map(\.diffID) == [try layer.digests.sha256(of: layer.path)])
        #expect(FileManager.default.contentsEqual(atPath: image.layers[0].file, andPath: layer.path))
        #expect(image.env == ["PATH=/usr/local/bin:/bin", "FOO=bar"])

        let result = try ImageWriter(base: base).write(
            Fixtures.request(binaryPath: binary, output: dir.appending("out")))
        let fromDockerBase = try ImageWriter(base: try BaseImage.load(path: dockerBase, scratch: dir.appending("s2")))
            .write(Fixtures.request(binaryPath: binary, output: dir.appending("out2")))
        let configs = [
            try await Fixtures.config(of: result.tarball), try await Fixtures.config(of: fromDockerBase.tarball),
        ]
        #expect(configs[0]["rootfs"] as? [String: [String]] == configs[1]["rootfs"] as? [String: [String]])
        try await withPodmanStore { store in
            try await store.check(["load", "-i", result.tarball])
            #expect(try await store.names() == result.repoTags)
        }
    }

    @Test func aCorruptedBaseLayerIsRejected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let layer = try Fixtures.writeBaseLayer(to: dir.appending("base-layer.tar"))
        let original = try layer.digests.sha256(of: layer.path)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: layer.path)))
        let offset = try #require(bytes.firstRange(of: Array("from the base".utf8))?.lowerBound)
        bytes[offset] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: layer.path))
        let base = dir.appending("base.tar")
        try Fixtures.writeDockerArchiveBase(layer: layer.path, diffID: original.description, to: base)
        do {
            _ = try BaseImage.load(path: base, scratch: dir.appending("scratch"))
            Issue.record("a corrupted base layer was accepted")
        } catch let error as ImageError {
            guard case .baseDigestMismatch(let tarball, let blob, let expected, _) = error else {
                Issue.record("unexpected error: \(error)")
                return
            }
            #expect(tarball == base)
            #expect(blob.contains("/layer.tar"))
            #expect(expected == original.description)
            #expect(error.description.contains("corrupt"))
        }
    }

    @Test func aCorruptedOCIBlobIsRejected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, dockerBase) = try Fixtures.dockerArchiveBase(in: dir)
        let layout = dir.appending("layout")
        try await Tool.check("skopeo", ["copy", "docker-archive:" + dockerBase, "oci:" + layout + ":base"])
        // skopeo compresses layers for oci:, so find the layer blob through index.json and the manifest.
        let index = try Fixtures.json(try String(contentsOfFile: layout + "/index.json", encoding: .utf8))
        let manifestDigest = try #require((index["manifests"] as? [[String: Any]])?.first?["digest"] as? String)
        let manifest = try Fixtures.json(
            try String(contentsOfFile: layout + "/blobs/sha256/" + manifestDigest.dropFirst(7), encoding: .utf8))
        let layerDigest = try #require((manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String)
        let blobName = "blobs/sha256/" + layerDigest.dropFirst(7)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: layout + "/" + blobName)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: layout + "/" + blobName))
        let corrupted = dir.appending("corrupted-oci.tar")
        try await Tool.check("tar", ["-cf", corrupted, "-C", layout, "."])
        #expect {
            _ = try BaseImage.load(path: corrupted, scratch: dir.appending("scratch"))
        } throws: { error in
            guard let error = error as? ImageError, case .baseDigestMismatch(_, let name, _, _) = error else {
                return false
            }
            return name == blobName
        }
    }

    @Test func layerEntriesEscapingTheRootAreRejected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let epoch = try SourceDate(seconds: 0)
        func writer(_ entries: [TarEntry]) -> (String) throws -> Void {
            { path in
                let writer = try TarballWriter(path: path, options: TarOptions(compression: .none, mtime: epoch))
                for entry in entries { try writer.add(entry) }  // unnormalized on purpose
                _ = try writer.finish()
            }
        }
        let outside = dir.appending("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "x\n".write(toFile: outside + "/x", atomically: true, encoding: .utf8)
        try FileManager.default.linkItem(atPath: outside + "/x", toPath: outside + "/y")

        let cases: [(name: String, entry: String, reason: String, make: (String) async throws -> Void)] = [
            (
                "dotdot", "../evil", "climbs above the image root",
                writer([.data("etc/ok", "ok"), .data("../evil", "x")])
            ),
            ("inner-dotdot", "etc/../../evil", "climbs above the image root", writer([.data("etc/../../evil", "x")])),
            (
                "symlink", "etc/escape", "symlink to '../../etc/passwd'",
                writer([.directory("etc"), TarEntry(path: "etc/escape", content: .symlink(target: "../../etc/passwd"))])
            ),
            (
                "absolute", outside + "/x", "absolute path",
                { path in try await Tool.check("tar", ["-P", "-cf", path, outside + "/x"]) }
            ),
            (
                "hardlink", "y", "hardlink to '../x'",
                { path in
                    try await Tool.check(
                        "tar", ["-P", "--transform", "s,^x$,../x,RS", "-cf", path, "x", "y"], in: outside)
                }
            ),
        ]
        for testCase in cases {
            let base = try await Fixtures.baseWithLayer(in: dir, name: testCase.name) { try await testCase.make($0) }
            do {
                _ = try BaseImage.load(path: base, scratch: dir.appending("scratch-" + testCase.name))
                Issue.record("\(testCase.name): accepted")
            } catch let error as ImageError {
                guard case .unsafeBaseEntry(let tarball, let layer, let entry, let reason) = error else {
                    Issue.record("\(testCase.name): unexpected error \(error)")
                    continue
                }
                #expect(tarball == base)
                #expect(layer.hasSuffix("/layer.tar"))
                #expect(entry == testCase.entry, "\(testCase.name)")
                #expect(reason.contains(testCase.reason), "\(testCase.name): \(reason)")
                #expect(error.description.contains(base) && error.description.contains(testCase.entry))
            }
        }
    }

    @Test func absoluteSymlinksAndInnerDotDotAreFine() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let base = try await Fixtures.baseWithLayer(in: dir, name: "fine") { path in
            let writer = try TarballWriter(
                path: path, options: TarOptions(compression: .none, mtime: try SourceDate(seconds: 0)))
            try writer.add(.directory("bin"))
            try writer.add(TarEntry(path: "bin/sh", content: .symlink(target: "/bin/busybox")))
            try writer.add(TarEntry(path: "bin/up", content: .symlink(target: "../etc")))
            try writer.add(.data("etc/../etc2/x", "x"))
            _ = try writer.finish()
        }
        let loaded = try BaseImage.load(path: base, scratch: dir.appending("scratch"))
        #expect(loaded.images.count == 1)
    }

    @Test func aBaseWithoutThePlatformOrNotAnImageIsAClearError() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (layer, baseTar) = try Fixtures.dockerArchiveBase(in: dir)
        let base = try BaseImage.load(path: baseTar, scratch: dir.appending("scratch"))
        #expect(
            throws: ImageError.baseMissingPlatform(
                base: baseTar, platform: "linux/arm64/v8", available: ["linux/amd64"])
        ) {
            try ImageWriter(base: base).write(
                Fixtures.request(
                    binaryPath: binary, output: dir.appending("out"), platform: Platform(os: "linux", arch: "arm64")))
        }
        #expect(throws: ImageError.self) {
            try BaseImage.load(path: layer.path, scratch: dir.appending("scratch2"))
        }
        #expect(throws: ImageError.self) {
            try BaseImage.load(path: dir.appending("missing.tar"), scratch: dir.appending("scratch3"))
        }
    }
}
