// swift-tools-version: 6.2
// kbuild: a hermetic, reproducible release-build orchestrator for Go monorepos.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// A libFuzzer target under Sources/Fuzz (see hack/fuzz); the normal build makes it an input replayer.
func fuzzTarget(_ name: String, _ module: Target.Dependency) -> Target {
    .executableTarget(
        name: name, dependencies: ["FuzzSupport", module], path: "Sources/Fuzz/\(name)", swiftSettings: strict)
}

let package = Package(
    name: "kbuild",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kbuild", targets: ["kbuild"]),
        .library(name: "KbuildRelease", targets: ["KbuildRelease"]),
        .library(name: "KbuildProof", targets: ["KbuildProof"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        // C libraries, each wrapped once by the Swift module beside it.
        .systemLibrary(
            name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(
            name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // libcurl, the one FoundationNetworking links: publishing's HTTP with a CA file of its own.
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate", providers: [.apt(["libdeflate-dev"])]),
        // openat2(2) for KbuildCore's `Beneath` (glibc's syscall() is variadic, so Swift cannot call it).
        .systemLibrary(name: "CSyscall", path: "Sources/CSyscall"),

        // Shared plumbing: the one process runner, atomic outputs, platforms, source date.
        .target(
            name: "KbuildCore",
            dependencies: ["CSyscall", .product(name: "Subprocess", package: "swift-subprocess")],
            swiftSettings: strict),
        // The release's files as values: archive kinds, formats, entries, side files (plan, verify, SBOM).
        .target(name: "KbuildArtifact", dependencies: ["KbuildCore"], swiftSettings: strict),
        // md5 / sha256 / sha512 over libcrypto.
        .target(name: "KbuildDigest", dependencies: ["CCrypto", "KbuildCore"], swiftSettings: strict),
        // Deterministic tar / tar.gz writing and safe reading over libarchive.
        .target(
            name: "KbuildArchive", dependencies: ["CArchive", "CDeflate", "KbuildDigest", "KbuildCore"],
            swiftSettings: strict),
        // git describe -> Version, ldflags, version file, base.go fallback, `cut`.
        .target(name: "KbuildVersion", dependencies: ["KbuildCore"], swiftSettings: strict),
        // release/kbuild.yaml: typed model and complete validation.
        .target(
            name: "KbuildConfig",
            dependencies: ["KbuildCore", "KbuildArtifact", "KbuildGo", "KbuildImage", "KbuildVersion", "Yams"],
            swiftSettings: strict),
        // The hermetic Go cross-build matrix.
        .target(
            name: "KbuildGo", dependencies: ["KbuildCore", "KbuildDigest", "KbuildVersion"], swiftSettings: strict),
        // Daemonless docker-archive / OCI image tarballs.
        .target(
            name: "KbuildImage",
            dependencies: ["KbuildCore", "KbuildArchive", "KbuildDigest"],
            swiftSettings: strict),
        // Supply-chain documents as pure values -> bytes: SPDX SBOM, in-toto/SLSA provenance, DSSE.
        .target(
            name: "KbuildProof", dependencies: ["KbuildCore", "KbuildArtifact", "KbuildDigest"], swiftSettings: strict),
        // A shared cache on the Bazel HTTP remote-cache protocol (/ac/<key>, /cas/<sha256>).
        .target(name: "KbuildRemote", dependencies: ["KbuildCore", "KbuildDigest"], swiftSettings: strict),
        // `kbuild publish`: images to an OCI registry (Distribution API v2), with the container auth files, over libcurl.
        .target(
            name: "KbuildPublish", dependencies: ["CCurl", "KbuildCore", "KbuildDigest", "KbuildImage"],
            swiftSettings: strict),
        // ReleasePlan and the steps that execute it.
        .target(
            name: "KbuildRelease",
            dependencies: [
                "KbuildCore", "KbuildArtifact", "KbuildArchive", "KbuildDigest", "KbuildVersion", "KbuildConfig",
                "KbuildGo", "KbuildImage", "KbuildProof", "KbuildRemote", "KbuildPublish", "Yams",
            ],
            swiftSettings: strict),
        // `kbuild verify` and `kbuild diff`: offline checks of a release and explanations of differences.
        .target(
            name: "KbuildVerify",
            dependencies: [
                "KbuildCore", "KbuildArtifact", "KbuildArchive", "KbuildDigest", "KbuildConfig", "KbuildPublish",
                "KbuildProof",
            ],
            swiftSettings: strict),
        // The thin CLI.
        .executableTarget(
            name: "kbuild",
            dependencies: [
                "KbuildRelease", "KbuildVerify", "KbuildArtifact", "KbuildConfig", "KbuildDigest", "KbuildPublish",
                "KbuildImage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        // hack/bench's driver: packs and sums the way the release pipeline does (not shipped).
        .executableTarget(
            name: "kbuild-bench", dependencies: ["KbuildArchive", "KbuildDigest", "KbuildCore"],
            swiftSettings: strict),

        // libFuzzer targets, run by hack/fuzz for a bounded time each.
        .systemLibrary(name: "CFuzzer", path: "Sources/Fuzz/CFuzzer"),
        .target(
            name: "FuzzSupport", dependencies: ["CFuzzer"], path: "Sources/Fuzz/FuzzSupport", swiftSettings: strict),
        fuzzTarget("fuzz-version", "KbuildVersion"),
        fuzzTarget("fuzz-version-file", "KbuildVersion"),
        fuzzTarget("fuzz-base-go", "KbuildVersion"),
        fuzzTarget("fuzz-base-image", "KbuildImage"),
        fuzzTarget("fuzz-config", "KbuildConfig"),

        .target(
            name: "TestSupport", dependencies: ["KbuildCore"], path: "Tests/TestSupport",
            swiftSettings: strict),
        .testTarget(name: "KbuildCoreTests", dependencies: ["KbuildCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KbuildDigestTests", dependencies: ["KbuildDigest", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KbuildArchiveTests", dependencies: ["KbuildArchive", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KbuildVersionTests", dependencies: ["KbuildVersion", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "KbuildConfigTests", dependencies: ["KbuildConfig", "KbuildArtifact", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "KbuildGoTests", dependencies: ["KbuildGo", "KbuildConfig", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KbuildImageTests", dependencies: ["KbuildImage", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "KbuildProofTests", dependencies: ["KbuildProof", "KbuildArtifact", "KbuildDigest", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "KbuildRemoteTests", dependencies: ["KbuildRemote", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "KbuildReleaseTests",
            dependencies: ["KbuildRelease", "KbuildArtifact", "KbuildConfig", "KbuildRemote", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "KbuildPublishTests", dependencies: ["KbuildPublish", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KbuildVerifyTests", dependencies: ["KbuildVerify", "TestSupport"], swiftSettings: strict),
        // Runs the built `kbuild` binary on examples/ and checks results with outside tools.
        .testTarget(
            name: "EndToEndTests", dependencies: ["TestSupport", "kbuild"], swiftSettings: strict),
    ]
)
