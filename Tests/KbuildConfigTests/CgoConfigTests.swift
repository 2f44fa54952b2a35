import Foundation
import KbuildConfig
import KbuildCore
import TestSupport
import Testing

@Suite("cgo: per-platform C toolchains")
struct CgoConfigTests {
    static let tail = "binaries:\n  - name: foo\n    kinds: [client]\n    static: false\n"

    @Test("Per-platform variables are read as written; none by default")
    func reads() throws {
        let workspace = try Workspace()
        #expect(try workspace.load(Self.tail).cgo.isEmpty)
        let config = try workspace.load(
            """
            cgo:
              linux/arm64: {CC: aarch64-linux-gnu-gcc, CGO_CFLAGS: "-DX=1 -I/opt/inc"}
              linux/arm: {CC: "ccache arm-linux-gnueabihf-gcc"}
            \(Self.tail)
            """)
        #expect(
            config.cgo == [
                Platform(os: "linux", arch: "arm64"): [
                    "CC": "aarch64-linux-gnu-gcc", "CGO_CFLAGS": "-DX=1 -I/opt/inc",
                ],
                Platform(os: "linux", arch: "arm"): ["CC": "ccache arm-linux-gnueabihf-gcc"],
            ])
    }

    @Test("Unknown platforms and variables are one positioned line")
    func mistakes() throws {
        let workspace = try Workspace()
        try workspace.expectError(
            "cgo:\n  linux/arm65: {CC: gcc}\n" + Self.tail, line: 2, column: 3, field: "cgo.linux/arm65",
            "unknown platform")
        try workspace.expectError(
            "cgo:\n  linux/arm64: {CFLAGS: -O2}\n" + Self.tail, line: 2, column: 17, field: "cgo.linux/arm64.CFLAGS",
            "allowed: CC, CXX, AR, CGO_CFLAGS")
        try workspace.expectError(
            "cgo:\n  linux/arm64: {CC: \"\"}\n" + Self.tail, line: 2, column: 21, field: "cgo.linux/arm64.CC",
            "one non-empty line")
    }
}
