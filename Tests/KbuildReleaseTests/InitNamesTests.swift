import Foundation
import Testing

@testable import KbuildRelease

/// How `kbuild init` reads a project's own binary names, and Go's `%q` paths.
@Suite struct InitNamesTests {
    @Test func buildLinesNameTheirCmdPackage() {
        var names = ProjectBinaryNames()
        names.scan(
            """
            PROJECT := arb
            OUT ?= _output/bin
            export TOOL_PREFIX="arb"
            build:
            \tgo build -o $(OUT)/$(PROJECT)-scheduler ./cmd/scheduler
            \tgo build -o "${OUT}/${TOOL_PREFIX}-ctl" cmd/ctl/main.go
            \tgo build -o $(OUT)/$(UNKNOWN)-x ./cmd/x
            \tgo build -o bin/$$target cmd/$$target/main.go
            \tgo build -o bin/agent \\
            \t\t./cmd/agent/...
            """, file: "Makefile")
        #expect(names.names["./cmd/scheduler"]?.name == "arb-scheduler")
        #expect(names.names["./cmd/scheduler"]?.source == "Makefile:5")
        #expect(names.names["./cmd/ctl"]?.name == "arb-ctl")
        #expect(names.names["./cmd/x"] == nil)  // an unknown variable: no guess
        #expect(names.names["./cmd/agent"]?.name == "agent")
        #expect(names.names["./cmd/agent"]?.source == "Makefile:9")  // where the continued line starts
        #expect(names.names.count == 3)
    }

    @Test func goQuotedPathsComeBackAsTheyAre() {
        #expect(GoQuoted.unquote("\"example.com/m/cmd/ok\"") == "example.com/m/cmd/ok")
        #expect(GoQuoted.unquote("\"a\\nb\\tc \\\"d\\\" \\\\\"") == "a\nb\tc \"d\" \\")
        #expect(GoQuoted.unquote("\"na\\u00efve \\xc3\\xa9\"") == "naïve é")
        #expect(GoQuoted.unquote("\"naïve\"") == "naïve")
        #expect(GoQuoted.unquote("") == "")
        #expect(GoQuoted.unquote("not quoted") == nil)
        #expect(GoQuoted.unquote("\"bad \\q\"") == nil)
    }
}
