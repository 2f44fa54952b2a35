import Foundation
import KbuildCore
import TestSupport
import Testing

@testable import KbuildGo

/// The release matrix: five platforms, checked with `go version -m` and `file`.
let releasePlatforms = ["linux/amd64", "linux/arm64", "linux/arm", "darwin/arm64", "windows/amd64"].compactMap(
    Platform.init)

/// Real `go build`s on a tiny module. Serialized: they share one GOCACHE and two CPU cores.
@Suite(.serialized) struct GoBuilderTests {
    /// The progress count is right: on a cold Go cache, `go build -n`'s plan is exactly the packages
    /// `go build -v` then names (standard library included); warm, both are zero.
    @Test func compileProgressCountsWhatGoCompiles() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let builder = GoBuilder(toolchain: try await locateGo(), settings: workspace.settings(goCache: nil))
        let targets = workspace.targets([Platform("linux/arm64")!])
        let cold = EventLog()
        _ = try await builder.build(targets) { cold.record($0) }
        let reports = cold.all.compactMap { event -> WorkProgress? in
            if case .progress(let progress) = event { return progress }
            return nil
        }
        let running = reports.filter { !$0.finished }
        let total = try #require(running.last?.total)
        #expect(total > 20, "the standard library is compiled too: \(total)")
        #expect(running.last?.done == total, "every planned package named by -v, none more")
        #expect(running.map(\.done) == running.map(\.done).sorted())
        #expect(reports.last?.finished == true && reports.last?.done == total)
        #expect(reports.allSatisfy { $0.subject == "linux/arm64" && $0.waiting == TinyModule.binaries })

        // Counting changes no byte: the same build without it (no -n, no -v) gives the same binaries.
        let quiet = try Workspace("kbuild-go-quiet")
        defer { quiet.remove() }
        var settings = quiet.settings()
        settings.countsPackages = false
        let recorded = RecordingRunner()
        let quietEvents = EventLog()
        _ = try await GoBuilder(toolchain: builder.toolchain, settings: settings, runner: recorded).build(
            quiet.targets([Platform("linux/arm64")!])
        ) { quietEvents.record($0) }
        #expect(recorded.commands.allSatisfy { !$0.arguments.contains("-n") && !$0.arguments.contains("-v") })
        for (counted, plain) in zip(targets, quiet.targets([Platform("linux/arm64")!])) {
            #expect(try fileBytes(counted.output) == (try fileBytes(plain.output)), "\(counted.binary)")
        }

        let warm = EventLog()
        _ = try await builder.build(targets) { warm.record($0) }
        #expect(
            warm.all.contains(
                .progress(
                    WorkProgress(
                        activity: .compile, subject: "linux/arm64", done: 0, total: 0, unit: .packages,
                        waiting: TinyModule.binaries, finished: true))))
    }

    @Test func buildsTheCrossPlatformMatrix() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let toolchain = try await locateGo()
        let majorMinor = toolchain.version.split(separator: ".").prefix(2).joined(separator: ".")
        let builder = GoBuilder(
            toolchain: toolchain, settings: workspace.settings(version: "v1.2.3-test+abc", required: majorMinor))
        let targets = workspace.targets(releasePlatforms)
        let events = EventLog()
        let report = try await builder.build(targets) { events.record($0) }

        #expect(report.goInvocations == releasePlatforms.count)  // one go build per platform
        var started = 0
        var finished = 0
        for event in events.all {
            if case .started = event { started += 1 }
            if case .finished(_, let seconds) = event {
                finished += 1
                #expect(seconds >= 0)
            }
        }
        #expect(started == targets.count && finished == targets.count)
        #expect(events.all.first == .sandbox(.off))

        let expectedFile = [
            "linux/amd64": "ELF 64-bit LSB executable, x86-64", "linux/arm64": "ELF 64-bit LSB executable, ARM aarch64",
            "linux/arm": "ELF 32-bit LSB executable, ARM", "darwin/arm64": "Mach-O 64-bit arm64 executable",
            "windows/amd64": "PE32+ executable (console) x86-64",
        ]
        for target in targets {
            #expect(
                target.output.hasSuffix(target.platform.os == "windows" ? "/\(target.binary).exe" : "/\(target.binary)")
            )
            let info = try await Tool.check(toolchain.executable, ["version", "-m", target.output])
            #expect(info.contains("GOOS=\(target.platform.os)"), "\(target.output): \(info)")
            #expect(info.contains("GOARCH=\(target.platform.arch)"), "\(target.output): \(info)")
            #expect(info.contains("\tpath\t\(TinyModule.modulePath)/cmd/\(target.binary)\n"))
            #expect(info.contains("-trimpath=true") && info.contains("CGO_ENABLED=0"))
            if target.platform.arch == "arm" { #expect(info.contains("GOARM=7")) }
            if Tool.available("file") {
                let description = try await Tool.check("file", ["-b", target.output])
                #expect(
                    description.hasPrefix(expectedFile[target.platform.description]!),
                    "\(target.output): \(description)")
            }
            let mode = try FileManager.default.attributesOfItem(atPath: target.output)[.posixPermissions] as? Int
            #expect(mode == 0o755)
        }
        #expect(workspace.leftovers().isEmpty)

        // The host binary prints exactly the stamped version.
        let host = workspace.layout.binary("beta", Platform.host)
        #expect(try await Tool.check(host, ["--version"]) == "v1.2.3-test+abc\n")
        #expect(try await Tool.check(host, []) == "beta\n")
    }

    @Test func ldflagsWordsWithSpacesAndQuotesSurviveGoParsing() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let toolchain = try await locateGo()
        for stamped in ["v1 with spaces", "it's quoted", "'leading\"quote"] {
            let builder = GoBuilder(toolchain: toolchain, settings: workspace.settings(version: stamped))
            _ = try await builder.build(workspace.targets([.host], binaries: ["alpha"])) { _ in }
            let printed = try await Tool.check(workspace.layout.binary("alpha", .host), ["--version"])
            #expect(printed == stamped + "\n")
        }
    }

    @Test func sameSourcesInTwoDirectoriesGiveIdenticalBinaries() async throws {
        let first = try Workspace("kbuild-go-a")
        let second = try Workspace("kbuild-go-b")
        defer {
            first.remove()
            second.remove()
        }
        #expect(first.root != second.root)
        let toolchain = try await locateGo()
        let platforms: [Platform] = [.host, Platform(os: "windows", arch: "amd64")]
        _ = try await GoBuilder(toolchain: toolchain, settings: first.settings()).build(first.targets(platforms)) { _ in
        }
        // The second build gets its own, empty GOCACHE so nothing is reused from the first (host only: std is rebuilt).
        let fresh = second.layout.goState + "/fresh-cache"
        _ = try await GoBuilder(toolchain: toolchain, settings: second.settings(goCache: fresh))
            .build(second.targets([.host])) { _ in }
        _ = try await GoBuilder(toolchain: toolchain, settings: second.settings())
            .build(second.targets([Platform(os: "windows", arch: "amd64")])) { _ in }
        for (a, b) in zip(first.targets(platforms), second.targets(platforms)) {
            let bytes = try fileBytes(a.output)
            #expect(!bytes.isEmpty)
            #expect(bytes == (try fileBytes(b.output)), "\(a.output) != \(b.output)")
            #expect(bytes.range(of: Data(first.root.utf8)) == nil)  // no build path inside
        }
    }

    @Test func groupedAndPerBinaryBuildsGiveTheSameBytes() async throws {
        let grouped = try Workspace("kbuild-go-grouped")
        let alone = try Workspace("kbuild-go-alone")
        defer {
            grouped.remove()
            alone.remove()
        }
        let toolchain = try await locateGo()
        let platforms: [Platform] = [.host, Platform(os: "linux", arch: "arm")]
        let one = try await GoBuilder(toolchain: toolchain, settings: grouped.settings(group: true))
            .build(grouped.targets(platforms)) { _ in }
        let each = try await GoBuilder(toolchain: toolchain, settings: alone.settings(group: false))
            .build(alone.targets(platforms)) { _ in }
        #expect(one.goInvocations == 2 && each.goInvocations == 6)
        for (a, b) in zip(grouped.targets(platforms), alone.targets(platforms)) {
            #expect(try fileBytes(a.output) == (try fileBytes(b.output)), "\(a.binary) \(a.platform)")
        }
    }

    @Test func callerEnvironmentDoesNotLeakIntoTheBuild() async throws {
        let clean = try Workspace("kbuild-go-clean")
        let planted = try Workspace("kbuild-go-planted")
        defer {
            clean.remove()
            planted.remove()
        }
        let poison = ["GOFLAGS": "-race", "CGO_ENABLED": "1", "GOPATH": "/nonexistent", "CGO_CFLAGS": "-bogus"]
        let platforms: [Platform] = [.host, Platform(os: "linux", arch: "arm64")]

        let cleanGo = try await locateGo()
        _ = try await GoBuilder(toolchain: cleanGo, settings: clean.settings()).build(clean.targets(platforms)) { _ in }

        let runner = RecordingRunner()
        let poisonedEnvironment = callerEnvironment.merging(poison) { $1 }
        let poisonedGo = try await GoToolchain.locate(runner: runner, environment: poisonedEnvironment)
        _ = try await GoBuilder(toolchain: poisonedGo, settings: planted.settings(), runner: runner)
            .build(planted.targets(platforms)) { _ in }

        for (a, b) in zip(clean.targets(platforms), planted.targets(platforms)) {
            #expect(try fileBytes(a.output) == (try fileBytes(b.output)), "\(a.binary) \(a.platform)")
        }
        // One go build per platform, and beside each the `go build -n` that plans the progress count.
        let builds = runner.commands.filter { $0.arguments.contains("build") }
        #expect(builds.filter { !$0.arguments.contains("-n") }.count == platforms.count)
        for command in builds {
            guard case .exact(let environment) = command.environment else {
                Issue.record("go build must get an exact environment, got \(command.environment)")
                continue
            }
            #expect(environment["GOFLAGS"] == "-mod=mod" && environment["CGO_ENABLED"] == "0")
            #expect(environment["CGO_CFLAGS"] == nil && environment["GOPATH"] == planted.layout.goState + "/gopath")
        }

        // Control: the planted variables do matter when they reach go (race builds differ or fail).
        let control = planted.directory.appending("control")
        let result = try await Tool.run(
            cleanGo.executable,
            [
                "build", "-o", control, "-trimpath", "-buildvcs=false", "-gcflags=all=-dwarf=false", "-ldflags",
                try GoBuilder.ldflagsValue(["-X", "\(TinyModule.versionVariable)=v1.2.3"]), "./cmd/alpha",
            ],
            in: planted.root,
            environment: poison.mapValues { $0 }.merging(["GOCACHE": sharedGoCache, "GOPROXY": "off"]) { $1 })
        if result.succeeded {
            #expect(try fileBytes(control) != (try fileBytes(clean.layout.binary("alpha", .host))))
        }
    }

    @Test func environmentIsExactlyTheHermeticSet() throws {
        let toolchain = GoToolchain(executable: "/opt/go/bin/go", version: "1.19.8", goroot: "/opt/go")
        let settings = GoBuildSettings(workspace: "/ws", goState: "/ws/_output/local/go", modMode: .vendor, jobs: 1)
        let builder = GoBuilder(toolchain: toolchain, settings: settings)
        let arm = builder.environment(for: Platform(os: "linux", arch: "arm"), isStatic: true)
        #expect(
            arm == [
                "PATH": "/opt/go/bin:/usr/bin:/bin", "HOME": "/ws/_output/local/go/home",
                "GOCACHE": "/ws/_output/local/go/cache", "GOPATH": "/ws/_output/local/go/gopath",
                "GOMODCACHE": "/ws/_output/local/go/gopath/pkg/mod", "GOFLAGS": "-mod=vendor", "GOPROXY": "off",
                "GOSUMDB": "off", "GOENV": "off", "GO111MODULE": "on", "TMPDIR": "/ws/_output/local/go/tmp",
                "LANG": "C",
                "GOOS": "linux", "GOARCH": "arm", "GOARM": "7", "CGO_ENABLED": "0",
            ])
        let dynamic = builder.environment(for: Platform(os: "darwin", arch: "arm64"), isStatic: false)
        #expect(dynamic["CGO_ENABLED"] == "1" && dynamic["GOARM"] == nil && dynamic["GOTOOLCHAIN"] == nil)
    }

    @Test func ldflagsQuotingFollowsGoSplitting() throws {
        #expect(try GoBuilder.ldflagsValue([]) == "-s -w -buildid=")
        #expect(try GoBuilder.ldflagsValue(["-X", "p.v=a b"]) == "-s -w -buildid= -X 'p.v=a b'")
        #expect(try GoBuilder.ldflagsValue(["-X", "p.v=it's x"]) == "-s -w -buildid= -X \"p.v=it's x\"")
        #expect(try GoBuilder.ldflagsValue(["-X", "p.v=it's\"x"]) == "-s -w -buildid= -X p.v=it's\"x")
        #expect(throws: GoBuildError.unquotableLdflag("p.v=a 'b' \"c\"")) {
            try GoBuilder.ldflagsValue(["p.v=a 'b' \"c\""])
        }
    }

    @Test func brokenPackageFailsNamingBinaryPlatformAndGoError() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let toolchain = try await locateGo()
        let arm64 = Platform(os: "linux", arch: "arm64")
        for group in [true, false] {
            let targets = workspace.targets([arm64], binaries: ["alpha", "broken", "gamma"])
            let error = await #expect(throws: GoBuildError.self) {
                _ = try await GoBuilder(toolchain: toolchain, settings: workspace.settings(group: group)).build(targets)
                { _ in }
            }
            guard case .buildFailed(let binary, let package, let platform, let goError) = try #require(error) else {
                Issue.record("expected buildFailed, got \(String(describing: error))")
                continue
            }
            #expect(binary == "broken" && package == "./cmd/broken" && platform == arm64)
            #expect(goError.contains("undefined: undefinedFunction"))
            let message = try #require(error).description
            #expect(
                message.contains("broken") && message.contains("linux/arm64") && message.contains("undefinedFunction"))
            #expect(!message.contains("\n"))
            #expect(!FileManager.default.fileExists(atPath: workspace.layout.binary("broken", arm64)))
            #expect(workspace.leftovers().isEmpty)
        }
    }

    @Test func missingPackageIsAClearError() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let toolchain = try await locateGo()
        let target = GoBuildTarget(
            binary: "nope", package: "./cmd/nope", platform: .host, isStatic: true,
            output: workspace.layout.binary("nope", .host))
        let error = await #expect(throws: GoBuildError.self) {
            _ = try await GoBuilder(toolchain: toolchain, settings: workspace.settings()).build([target]) { _ in }
        }
        guard case .packageNotFound(let binary, let package, _, let goError) = try #require(error) else {
            Issue.record("expected packageNotFound, got \(String(describing: error))")
            return
        }
        #expect(binary == "nope" && package == "./cmd/nope" && goError.contains("cmd/nope"))
        #expect(
            try #require(error).description.hasPrefix("package ./cmd/nope of binary nope (\(Platform.host)) not found"))
        #expect(!FileManager.default.fileExists(atPath: target.output))
        #expect(workspace.leftovers().isEmpty)
    }

    @Test func libraryPackageIsNotABinary() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let toolchain = try await locateGo()
        for group in [true, false] {
            var targets = workspace.targets([.host], binaries: ["alpha"])
            targets.append(
                GoBuildTarget(
                    binary: "version", package: "./pkg/version", platform: .host, isStatic: true,
                    output: workspace.layout.binary("version", .host)))
            await #expect(
                throws: GoBuildError.notAMainPackage(binary: "version", package: "./pkg/version", platform: .host)
            ) {
                _ = try await GoBuilder(toolchain: toolchain, settings: workspace.settings(group: group)).build(targets)
                { _ in }
            }
            #expect(!FileManager.default.fileExists(atPath: workspace.layout.binary("version", .host)))
            #expect(workspace.leftovers().isEmpty)
        }
    }

    @Test func goVersionMismatchStopsBeforeBuilding() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let toolchain = try await locateGo()
        let builder = GoBuilder(toolchain: toolchain, settings: workspace.settings(required: "1.7"))
        await #expect(
            throws: GoBuildError.versionMismatch(
                required: "1.7", found: toolchain.version, executable: toolchain.executable)
        ) {
            _ = try await builder.build(workspace.targets([.host])) { _ in }
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.layout.binaryDirectory(.host)))
    }

    @Test func requiredSandboxUsesANetworkNamespace() async throws {
        // unshare -n needs root (or user namespaces); this machine has it, others may not.
        let probe = await GoBuilder.probeNetworkSandbox(runner: SubprocessRunner())
        guard case .success = probe else {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let builder = GoBuilder(toolchain: try await locateGo(), settings: workspace.settings(sandbox: .required))
            await #expect(throws: GoBuildError.self) {
                _ = try await builder.build(workspace.targets([.host])) { _ in }
            }
            return
        }
        let workspace = try Workspace()
        defer { workspace.remove() }
        let runner = RecordingRunner()
        let events = EventLog()
        let builder = GoBuilder(
            toolchain: try await locateGo(), settings: workspace.settings(sandbox: .required), runner: runner)
        let report = try await builder.build(workspace.targets([.host])) { events.record($0) }
        #expect(report.sandbox == .networkNamespace)
        #expect(report.sandbox.description == "network namespace (unshare -n)")
        #expect(events.all.first == .sandbox(.networkNamespace))
        let build = try #require(runner.commands.first { $0.arguments.contains("build") })
        #expect(
            build.executable.hasSuffix("/unshare") && build.arguments.prefix(2) == ["-n", builder.toolchain.executable])
        #expect(try await Tool.check(workspace.layout.binary("gamma", .host), ["--version"]) == "v1.2.3\n")
    }

    @Test func duplicateOutputsAreRejected() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        var targets = workspace.targets([.host], binaries: ["alpha", "beta"])
        targets[1].output = targets[0].output
        let builder = GoBuilder(toolchain: try await locateGo(), settings: workspace.settings())
        await #expect(
            throws: GoBuildError.duplicateOutput(
                path: targets[0].output, binaries: ["alpha (\(Platform.host))", "beta (\(Platform.host))"])
        ) {
            _ = try await builder.build(targets) { _ in }
        }
    }

    @Test func relativePathsAreRejected() async throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        var targets = workspace.targets([.host])
        targets[0].output = "_output/local/bin/gamma"
        let builder = GoBuilder(toolchain: try await locateGo(), settings: workspace.settings())
        await #expect(throws: GoBuildError.relativePath("_output/local/bin/gamma")) {
            _ = try await builder.build(targets) { _ in }
        }
    }

    @Test func groupsOnePlatformsBinariesTogether() {
        let out = "/o/local/bin"
        func target(_ name: String, _ package: String, _ platform: String, isStatic: Bool = true) -> GoBuildTarget {
            GoBuildTarget(
                binary: name, package: package, platform: Platform(platform)!, isStatic: isStatic,
                output: "\(out)/\(platform)/\(name)")
        }
        let targets = [
            target("a", "./cmd/a", "linux/amd64"), target("b", "./cmd/b", "linux/amd64"),
            target("c", "./cmd/c", "linux/arm64"), target("d", "./cmd/d", "linux/amd64", isStatic: false),
            target("e", "example.com/x/cmd/e/v2", "linux/amd64"), target("f", "./x/a", "linux/amd64"),
        ]
        let groups = GoBuilder.groups(targets, combine: true).map { $0.targets.map(\.binary) }
        #expect(groups == [["a"], ["e"], ["f"], ["b"], ["c"], ["d"]])
        #expect(GoBuilder.groups(targets, combine: false).count == targets.count)
        #expect(GoBuilder.goOutputName("./cmd/kubectl/") == "kubectl")
        #expect(GoBuilder.goOutputName(".") == nil && GoBuilder.goOutputName("./cmd/...") == nil)
    }
}
