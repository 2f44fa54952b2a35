// Package cli is the tiny shared command-line front end of the example binaries.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/example/pkg/version"
)

// Run handles the arguments of the binary called name and returns its exit code.
//
//	--version      prints the gitVersion and a newline (what `kbuild version --short` prints)
//	--version=raw  prints the whole version.Info as JSON
//	--help         prints the usage
//
// Anything else prints what the binary would do; these binaries are release fixtures.
func Run(name, purpose string, args []string, stdout, stderr io.Writer) int {
	for _, arg := range args {
		switch {
		case arg == "--version" || arg == "-version" || arg == "--version=true":
			fmt.Fprintln(stdout, version.Get().GitVersion)
			return 0
		case arg == "--version=raw":
			encoded, err := json.MarshalIndent(version.Get(), "", "  ")
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", name, err)
				return 1
			}
			fmt.Fprintln(stdout, string(encoded))
			return 0
		case arg == "--help" || arg == "-h":
			fmt.Fprintf(stdout, "%s: %s\n\nFlags:\n  --version[=raw]  print the version and exit\n", name, purpose)
			return 0
		case strings.HasPrefix(arg, "-"):
			fmt.Fprintf(stderr, "%s: unknown flag %s\n", name, arg)
			return 2
		}
	}
	fmt.Fprintf(stdout, "%s %s: %s\n", name, version.Get().GitVersion, purpose)
	return 0
}

// Main runs the binary and exits with Run's status.
func Main(name, purpose string) {
	os.Exit(Run(name, purpose, os.Args[1:], os.Stdout, os.Stderr))
}
