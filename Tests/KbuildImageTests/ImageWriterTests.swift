import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest
import KbuildImage
import TestSupport
import Testing

@Suite struct ImageWriterTests {
    @Test func podmanLoadRestoresTheExactNamesIncludingTheLegacyOne() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try ImageWriter(base: nil).write(
            Fixtures.request(binaryPath: binary, output: dir.appending("images/amd64"), legacyAmd64Name: true))
        let md5 = String(try await Tool.check("md5sum", [binary]).prefix(32))
        #expect(result.tag == md5)
        #expect(result.repoTags == ["\(Fixtures.registry)/hello-amd64:\(md5)", "\(Fixtures.registry)/hello:\(md5)"])

        try await withPodmanStore { store in
            try await store.check(["load", "-i", result.tarball])
            #expect(try await store.names() == result.repoTags.sorted())
            let id = try await store.check(["images", "--no-trunc", "--format", "{{.ID}}"])
            #expect(id.contains(result.imageID.hex))
        }
    }

    @Test func podmanWithoutLegacyNameShowsOnlyTheArchName() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try ImageWriter(base: nil).write(Fixtures.request(binaryPath: binary, output: dir.path))
        try await withPodmanStore { store in
            try await store.check(["load", "-i", result.tarball])
            #expect(try await store.names() == ["\(Fixtures.registry)/hello-amd64:\(result.tag)"])
        }
    }

    @Test func podmanRunsTheImage() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try ImageWriter(base: nil).write(Fixtures.request(binaryPath: binary, output: dir.path))
        try await withPodmanStore { store in
            try await store.check(["load", "-i", result.tarball])
            let output = try await store.check([
                "run", "--rm", "--runtime", "runc", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit",
                "nproc=1024:1024", result.repoTags[0], "--version",
            ])
            #expect(output == "hello --version\n")
        }
    }

    @Test func skopeoListsTheTagAndCopiesToOCIWhichUmociUnpacks() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try ImageWriter(base: nil).write(
            Fixtures.request(binaryPath: binary, output: dir.appending("out")))

        let tags = try Fixtures.json(try await Tool.check("skopeo", ["list-tags", "docker-archive:" + result.tarball]))
        #expect(tags["Tags"] as? [String] == [result.repoTags[0]])

        try await Tool.check(
            "skopeo", ["copy", "docker-archive:" + result.tarball, "oci:" + dir.appending("oci") + ":x"])
        try await Tool.check("umoci", ["unpack", "--image", dir.appending("oci") + ":x", dir.appending("bundle")])
        let unpacked = dir.appending("bundle/rootfs/usr/local/bin/hello")
        #expect(FileManager.default.contentsEqual(atPath: unpacked, andPath: binary))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: unpacked)[.posixPermissions] as? Int)
        #expect(mode == 0o755)

        // The OCI side of the same tarball (index.json + oci-layout) is readable too, with the annotations.
        let inspect = try Fixtures.json(try await Tool.check("skopeo", ["inspect", "oci-archive:" + result.tarball]))
        #expect(inspect["Architecture"] as? String == "amd64")
        let index = try Fixtures.json(try await Fixtures.member("index.json", of: result.tarball))
        let descriptor = try #require((index["manifests"] as? [[String: Any]])?.first)
        let annotations = try #require(descriptor["annotations"] as? [String: String])
        #expect(annotations["org.opencontainers.image.ref.name"] == result.tag)
        #expect(annotations["io.containerd.image.name"] == result.repoTags[0])
    }

    @Test func tagFileConfigAndLayoutAreAsSpecified() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try ImageWriter(base: nil).write(Fixtures.request(binaryPath: binary, output: dir.path))
        let md5 = String(try await Tool.check("md5sum", [binary]).prefix(32))
        #expect(try String(contentsOfFile: dir.appending("hello.docker_tag"), encoding: .utf8) == md5 + "\n")
        #expect(result.tarball == dir.appending("hello.tar"))
        #expect(result.sha256.hex == String(try await Tool.check("sha256sum", [result.tarball]).prefix(64)))

        let config = try await Fixtures.config(of: result.tarball)
        #expect(config["created"] as? String == "2023-11-14T22:13:20Z")
        #expect(config["created"] as? String == Fixtures.created.rfc3339)
        #expect(config["architecture"] as? String == "amd64")
        #expect(config["os"] as? String == "linux")
        #expect(config["variant"] == nil)
        let settings = try #require(config["config"] as? [String: Any])
        #expect(settings["Entrypoint"] as? [String] == ["/usr/local/bin/hello"])
        #expect(settings["Env"] as? [String] == [ImageWriter.defaultPath])
        let history = try #require(config["history"] as? [[String: Any]])
        #expect(history.map { $0["created"] as? String } == [Fixtures.created.rfc3339])
        let rootfs = try #require(config["rootfs"] as? [String: Any])
        let diffIDs = try #require(rootfs["diff_ids"] as? [String])
        #expect(diffIDs.count == 1)

        // The outer tar: exactly the Docker 25 layout.
        let layerHex = String(try #require(diffIDs.first).dropFirst("sha256:".count))
        let members = try await Tool.check("tar", ["-tf", result.tarball]).split(separator: "\n").map(String.init)
        #expect(
            members.filter { !$0.hasPrefix("blobs/sha256/") || $0 == "blobs/sha256/" } == [
                "blobs/", "blobs/sha256/", "index.json", "manifest.json", "oci-layout", "repositories",
            ])
        #expect(members.filter { $0.hasPrefix("blobs/sha256/") && $0 != "blobs/sha256/" }.count == 3)
        #expect(members.contains("blobs/sha256/" + layerHex))
        #expect(try await Fixtures.member("oci-layout", of: result.tarball) == #"{"imageLayoutVersion":"1.0.0"}"#)
        let repositories = try Fixtures.json(try await Fixtures.member("repositories", of: result.tarball))
        #expect(repositories as? [String: [String: String]] == ["\(Fixtures.registry)/hello-amd64": [md5: layerHex]])
        let manifest = try await Fixtures.member("manifest.json", of: result.tarball)
        #expect(manifest.hasPrefix(#"[{"Config":"blobs/sha256/"#))

        // The layer: its sha256 is its diff_id; entries sorted, parents present, root-owned, one mtime.
        try await Tool.check("tar", ["-xf", result.tarball, "-C", dir.path, "blobs/sha256/" + layerHex])
        let layer = dir.appending("blobs/sha256/" + layerHex)
        #expect(String(try await Tool.check("sha256sum", [layer]).prefix(64)) == layerHex)
        let listing = try await Tool.check(
            "tar", ["--numeric-owner", "--full-time", "-tvf", layer], environment: ["TZ": "UTC"]
        ).split(separator: "\n").map(String.init)
        #expect(
            listing.map { String($0.split(separator: " ").last ?? "") } == [
                "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/hello",
            ])
        for line in listing {
            #expect(line.contains(" 0/0 ") && line.contains("2023-11-14 22:13:20"), "\(line)")
        }
        #expect(listing.last?.hasPrefix("-rwxr-xr-x") == true)
        // No temporary leftovers beside the outputs.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [
                "blobs", "hello.docker_tag", "hello.tar",
            ])
    }

    @Test func byteIdenticalFromTwoDirectoriesWithDifferentTimeZoneAndUmask() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var digests: [String] = []
        for (index, (tz, mask)) in [("UTC", mode_t(0o022)), ("Asia/Kolkata", mode_t(0o077))].enumerated() {
            let workspace = dir.appending(index == 0 ? "one" : "second/clone")
            try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
            let copy = workspace + "/hello"
            try FileManager.default.copyItem(atPath: binary, toPath: copy)
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: Double(1000 * index))], ofItemAtPath: copy)
            let oldTZ = ProcessInfo.processInfo.environment["TZ"]
            setenv("TZ", tz, 1)
            tzset()
            let oldMask = umask(mask)
            defer {
                umask(oldMask)
                if let oldTZ { setenv("TZ", oldTZ, 1) } else { unsetenv("TZ") }
                tzset()
            }
            let result = try ImageWriter(base: nil).write(
                Fixtures.request(binaryPath: copy, output: workspace + "/_output/release-images/amd64"))
            digests.append(result.sha256.hex)
            let onDisk = String(try await Tool.check("sha256sum", [result.tarball]).prefix(64))
            #expect(onDisk == result.sha256.hex)
        }
        #expect(digests.count == 2)
        #expect(digests[0] == digests[1])
    }

    @Test func versionTagSchemeReplacesPlus() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let binary = dir.appending("hello")
        try "not really a binary\n".write(toFile: binary, atomically: true, encoding: .utf8)
        let result = try ImageWriter(base: nil).write(
            Fixtures.request(
                binaryPath: binary, output: dir.path, tagScheme: .version, version: "v1.30.0-alpha.1+abc123"))
        #expect(result.tag == "v1.30.0-alpha.1_abc123")
        #expect(try String(contentsOfFile: result.dockerTagFile, encoding: .utf8) == "v1.30.0-alpha.1_abc123\n")
    }

    @Test func invalidTagsAndNamesAreClearErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let binary = dir.appending("hello")
        try "x".write(toFile: binary, atomically: true, encoding: .utf8)
        let writer = ImageWriter(base: nil)
        for bad in ["-v1", ".v1", "v1/2", "", String(repeating: "a", count: 129), "v1 2"] {
            #expect(throws: ImageError.invalidTag(tag: bad, scheme: "version", binary: "hello")) {
                try writer.write(
                    Fixtures.request(binaryPath: binary, output: dir.path, tagScheme: .version, version: bad))
            }
        }
        #expect(ImageTag.isValid(String(repeating: "a", count: 128)))
        #expect(ImageTag.isValid("_v1.2-3"))
        // One grammar for registries and names (ImageName): lowercase hosts and path components.
        let hint = ImageName.registryHint
        #expect(
            throws: ImageError.invalidRepository(
                name: "Registry.test/team/hello-amd64", binary: "hello",
                reason:
                    "\"Registry\" in \"Registry.test\" is not a lowercase host name part (a-z, 0-9, inner '-'); \(hint)"
            )
        ) {
            try writer.write(Fixtures.request(binaryPath: binary, output: dir.path, registry: "Registry.test/team"))
        }
        #expect(
            throws: ImageError.invalidRepository(
                name: "registry.test/Team/hello-amd64", binary: "hello",
                reason: "path component \"Team\" is not lowercase a-z, 0-9 joined by '.', '_', '__' or '-'; \(hint)")
        ) {
            try writer.write(Fixtures.request(binaryPath: binary, output: dir.path, registry: "registry.test/Team"))
        }
        #expect(throws: ImageError.self) {
            try writer.write(Fixtures.request(binaryPath: dir.appending("missing"), output: dir.path))
        }
        #expect {
            try writer.write(
                Fixtures.request(binaryPath: dir.appending("missing"), output: dir.path, tagScheme: .version))
        } throws: { error in
            guard let error = error as? ImageError, case .unreadableBinary(let path, _) = error else { return false }
            return path == dir.appending("missing")
        }
        // Nothing was written for failed requests.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["hello"])
    }

    @Test(arguments: [("arm", "v7"), ("arm64", "v8"), ("ppc64le", nil), ("s390x", nil)] as [(String, String?)])
    func configCarriesArchitectureAndVariant(arch: String, variant: String?) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let binary = dir.appending("hello")
        try "pretend \(arch) binary".write(toFile: binary, atomically: true, encoding: .utf8)
        let result = try ImageWriter(base: nil).write(
            Fixtures.request(
                binaryPath: binary, output: dir.path, platform: Platform(os: "linux", arch: arch),
                legacyAmd64Name: true))
        #expect(result.repoTags == ["\(Fixtures.registry)/hello-\(arch):\(result.tag)"])
        let config = try await Fixtures.config(of: result.tarball)
        #expect(config["architecture"] as? String == arch)
        #expect(config["variant"] as? String == variant)
        let inspect = try Fixtures.json(
            try await Tool.check(
                "skopeo", ["--override-arch", arch, "inspect", "--raw", "--config", "docker-archive:" + result.tarball])
        )
        #expect(inspect["architecture"] as? String == arch)
    }

    @Test func measuresTimePerImage() async throws {
        let binary = try await Fixtures.binary.value
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clock = ContinuousClock()
        let start = clock.now
        let count = 5
        for index in 0..<count {
            _ = try ImageWriter(base: nil).write(
                Fixtures.request(binaryPath: binary, output: dir.appending("\(index)")))
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: binary)[.size] as? Int)
        print("kbuild images: \((clock.now - start) / count) per image of a \(size / 1024) KiB binary")
    }
}
