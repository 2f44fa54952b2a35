// Package version holds what the release stamps into every binary (-X example.com/tool/version.Version=…).
package version

var (
	// Version is the release version, e.g. v1.2.3.
	Version = "dev"
	// Revision is the commit the binary was built from.
	Revision = ""
)
