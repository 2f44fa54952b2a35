import Foundation
import KbuildConfig
import KbuildCore
import KbuildVersion
import TestSupport
import Testing

private func platforms(_ list: String...) -> [Platform] {
    list.map { Platform($0)! }
}

@Suite("Loading release configs")
struct ConfigLoaderTests {
    @Test("The example workspace's config loads with the values it declares")
    func exampleConfig() throws {
        let config = try ConfigLoader.load(
            file: Repository.examples + "/release/kbuild.yaml", workspace: Repository.examples,
            knownPlatforms: ReleaseConfig.knownPlatforms)
        #expect(config.project == "kubernetes")
        #expect(
            config.version
                == .init(package: "k8s.io/example/pkg/version", baseFile: "pkg/version/base.go", style: .semver))
        #expect(config.go == .init(version: "1.19", ldflags: [], mod: .mod, tags: []))
        #expect(
            config.platforms(for: .client)
                == platforms("darwin/arm64", "linux/amd64", "linux/arm", "linux/arm64", "windows/amd64"))
        #expect(config.platforms(for: .server) == platforms("linux/amd64", "linux/arm", "linux/arm64"))
        #expect(config.platforms(for: .node) == platforms("linux/amd64", "linux/arm64"))
        #expect(config.platforms(for: .test).isEmpty)
        #expect(
            config.binaries.map(\.name) == [
                "kubectl", "kube-apiserver", "kube-controller-manager", "kube-proxy", "kubelet",
            ])
        #expect(config.binaries.allSatisfy { $0.package == "./cmd/\($0.name)" && $0.isStatic })
        #expect(config.binaries(for: .client).map(\.name) == ["kubectl"])
        #expect(
            config.binaries(for: .server).map(\.name) == [
                "kube-apiserver", "kube-controller-manager", "kube-proxy", "kubelet",
            ])
        #expect(config.binaries(for: .node).map(\.name) == ["kube-proxy", "kubelet"])
        #expect(
            config.binaries.filter(\.image).map(\.name) == ["kube-apiserver", "kube-controller-manager", "kube-proxy"])
        #expect(
            config.images
                == .init(
                    registry: "registry.k8s.io", tagScheme: .md5, archSuffix: true, legacyAmd64Name: false, base: nil))
        #expect(config.addons == .init(dirs: ["cluster/addons"], exclude: ["**/demo/**", "**/*-test.yaml"]))
        #expect(config.addons.excludes("cluster/addons/demo/guestbook-1.0.yaml"))
        #expect(!config.addons.excludes("cluster/addons/dns/coredns-1.11.yaml"))
        #expect(config.full.include == ["cluster"])
        #expect(
            config.allPlatforms == platforms("darwin/arm64", "linux/amd64", "linux/arm", "linux/arm64", "windows/amd64")
        )
    }

    @Test("Omitted fields get their documented defaults")
    func defaults() throws {
        let workspace = try Workspace()
        let config = try workspace.load(minimalYAML)
        #expect(config.project == "kubernetes")
        #expect(
            config.version
                == .init(package: "example.com/mod/pkg/version", baseFile: "pkg/version/base.go", style: .semver))
        #expect(config.go == .init(version: nil, ldflags: [], mod: .mod, tags: []))
        for kind in ReleaseConfig.Kind.allCases {
            #expect(config.platforms(for: kind) == ReleaseConfig.defaultPlatforms[kind])
        }
        #expect(
            config.platforms(for: .server)
                == platforms("linux/amd64", "linux/arm", "linux/arm64", "linux/ppc64le", "linux/s390x"))
        #expect(
            config.binaries == [
                .init(name: "foo", package: "./cmd/foo", kinds: [.server], isStatic: true, image: false)
            ])
        #expect(
            config.images
                == .init(
                    registry: "registry.k8s.io", tagScheme: .md5, archSuffix: true, legacyAmd64Name: false, base: nil))
        #expect(config.addons == .init(dirs: ["cluster/addons"], exclude: []))
        #expect(config.full.include == ["cluster"])
    }

    @Test("Every field can be set, and paths are normalized")
    func everyField() throws {
        let workspace = try Workspace()
        try workspace.write("vendor/modules.txt", "# vendored\n")
        try workspace.write("vendor/k8s.io/component-base/version/version.go", "package version\n")
        try workspace.write("hack/lib/version.go", "package lib\n")
        let config = try workspace.load(
            """
            project: my-project
            version:
              package: k8s.io/component-base/version
              baseFile: ./pkg/version/base.go
              style: describe
            go:
              version: go1.19.8
              mod: vendor
              tags: [netgo, osusergo]
              ldflags: [-extldflags, -static]
            platforms:
              client: [linux/amd64]
              server: [linux/arm64, linux/amd64]
              node: [windows/amd64]
              test: [linux/amd64]
            binaries:
              - name: foo
                package: example.com/mod/cmd/foo
                kinds: [server, client, test]
                image: yes
                static: false
              - name: bar.exe-tool_2
                package: ./cmd/bar/
                kinds: [node]
            images:
              registry: localhost:5000/team__a/b-c
              tagScheme: version
              archSuffix: true
              legacyAmd64Name: true
              base: images/base.tar
            addons:
              dirs: [./cluster/addons/]
              exclude: ["**/*-test.yaml"]
            full:
              include: [cluster/addons, go.mod]

            """)
        #expect(config.project == "my-project")
        #expect(
            config.version
                == .init(package: "k8s.io/component-base/version", baseFile: "pkg/version/base.go", style: .describe))
        #expect(
            config.go
                == .init(
                    version: "1.19.8", ldflags: ["-extldflags", "-static"], mod: .vendor, tags: ["netgo", "osusergo"]))
        #expect(config.platforms(for: .server) == platforms("linux/amd64", "linux/arm64"))
        #expect(config.platforms(for: .node) == platforms("windows/amd64"))
        #expect(
            config.binaries == [
                .init(
                    name: "foo", package: "example.com/mod/cmd/foo", kinds: [.server, .client, .test], isStatic: false,
                    image: true),
                .init(name: "bar.exe-tool_2", package: "./cmd/bar/", kinds: [.node], isStatic: true, image: false),
            ])
        #expect(config.binaries[0].sortedKinds == [.client, .server, .test])
        #expect(
            config.images
                == .init(
                    registry: "localhost:5000/team__a/b-c", tagScheme: .version, archSuffix: true,
                    legacyAmd64Name: true,
                    base: workspace.path + "/images/base.tar"))
        #expect(config.addons == .init(dirs: ["cluster/addons"], exclude: ["**/*-test.yaml"]))
        #expect(config.full.include == ["cluster/addons", "go.mod"])
    }

    @Test("A workspace with vendor/modules.txt defaults to -mod=vendor; without cluster/ nothing is included")
    func vendorDefault() throws {
        let workspace = try Workspace()
        try workspace.write("vendor/modules.txt", "# vendored\n")
        try FileManager.default.removeItem(atPath: workspace.path + "/cluster")
        let config = try workspace.load(minimalYAML)
        #expect(config.go.mod == .vendor)
        #expect(config.addons.dirs.isEmpty)
        #expect(config.full.include.isEmpty)
    }

    @Test("Null sections and lists mean their defaults")
    func nullSections() throws {
        let workspace = try Workspace()
        let config = try workspace.load(
            """
            go:
            images: ~
            platforms:
              test:
            binaries:
              - name: foo
                kinds: [client]

            """)
        #expect(config.go == .init())
        #expect(config.images == .init())
        #expect(config.platforms(for: .test).isEmpty)
        #expect(config.platforms(for: .client) == ReleaseConfig.defaultPlatforms[.client])
    }

    @Test("A missing config file is reported as unreadable, naming the file")
    func missingFile() throws {
        let workspace = try Workspace()
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.load(workspace: workspace.path)
        }
        #expect(
            error == .unreadable(file: workspace.configFile, reason: "no such file (write one, or pass --config FILE)"))
        #expect(error?.description.hasPrefix(workspace.configFile + ": ") == true)
    }

    @Test("Go version requirements match whole dotted parts")
    func goVersionPrefix() {
        let go = ReleaseConfig.Go(version: "1.19")
        #expect(go.accepts(toolchainVersion: "1.19"))
        #expect(go.accepts(toolchainVersion: "1.19.8"))
        #expect(!go.accepts(toolchainVersion: "1.190"))
        #expect(!go.accepts(toolchainVersion: "1.1"))
        #expect(!go.accepts(toolchainVersion: "1.20.1"))
        #expect(ReleaseConfig.Go(version: "1.19.8").accepts(toolchainVersion: "1.19.8"))
        #expect(!ReleaseConfig.Go(version: "1.19.8").accepts(toolchainVersion: "1.19.7"))
        #expect(ReleaseConfig.Go().accepts(toolchainVersion: "1.22.0"))
    }

    @Test("addons.exclude globs: * and ? within a component, ** across components")
    func globs() {
        let addons = ReleaseConfig.Addons(
            dirs: [], exclude: ["**/demo/**", "**/*-test.yaml", "cluster/addons/?ns/*.json"])
        #expect(addons.excludes("cluster/addons/demo/a.yaml"))
        #expect(addons.excludes("demo/a.yaml"))
        #expect(addons.excludes("cluster/addons/demo/deep/er/a.yaml"))
        #expect(addons.excludes("cluster/addons/x/foo-test.yaml"))
        #expect(addons.excludes("foo-test.yaml"))
        #expect(addons.excludes("cluster/addons/dns/coredns.json"))
        #expect(!addons.excludes("cluster/addons/demos/a.yaml"))
        #expect(!addons.excludes("cluster/addons/x/foo-test.yaml.in"))
        #expect(!addons.excludes("cluster/addons/dns/sub/coredns.json"))
        #expect(!addons.excludes("cluster/addons/dns/coredns-1.11.yaml"))
    }

    @Test("The fallback platform list is a subset of the real `go tool dist list`")
    func fallbackPlatformsAreKnownToGo() async throws {
        let output = try await Tool.check("go", ["tool", "dist", "list"])
        let real = Set(output.split(whereSeparator: \.isNewline).compactMap { Platform(String($0)) })
        #expect(real.count > 30)
        #expect(ReleaseConfig.knownPlatforms.isSubset(of: real), "\(ReleaseConfig.knownPlatforms.subtracting(real))")
        for kind in ReleaseConfig.Kind.allCases {
            #expect(Set(ReleaseConfig.defaultPlatforms[kind] ?? []).isSubset(of: real))
        }
    }

    @Test("Platforms are validated against the list the caller passes (e.g. from go tool dist list)")
    func callerPlatformList() throws {
        let workspace = try Workspace()
        try workspace.write(
            "release/kbuild.yaml",
            """
            platforms:
              server: [linux/amd64, linux/arm64]
            binaries:
              - name: foo
                kinds: [server]

            """)
        let known: Set<Platform> = [Platform(os: "linux", arch: "amd64")]
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.load(file: workspace.configFile, workspace: workspace.path, knownPlatforms: known)
        }
        #expect(
            error
                == .invalid(
                    file: workspace.configFile, line: 2, column: 25, field: "platforms.server[1]",
                    message: "unknown platform linux/arm64 (not in go tool dist list); known linux architectures: amd64"
                ))
    }
}
