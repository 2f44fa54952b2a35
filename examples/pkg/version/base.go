package version

// Base version information.
//
// This is the fallback data used when version information from git is not
// provided via go ldflags. It provides an approximation of the Kubernetes
// version for ad-hoc builds (e.g. `go run`) that cannot get the version
// information from git.
//
// The release tooling (kbuild, like hack/lib/version.sh before it) overrides
// these variables with -ldflags "-X k8s.io/example/pkg/version.gitVersion=...".
// If you are looking at these fields in the git tree, they look strange: they
// are modified on the fly by the build process.
var (
	// TODO: Deprecate gitMajor and gitMinor, use only gitVersion instead.
	gitMajor     string = ""         // major version, always numeric
	gitMinor     string = ""         // minor version, numeric possibly followed by "+"
	gitVersion   string = "v0.1-dev" // version from git, output of $(git describe)
	gitCommit    string = ""         // sha1 from git, output of $(git rev-parse HEAD)
	gitTreeState string = ""         // state of git tree, either "clean" or "dirty"

	buildDate string = "1970-01-01T00:00:00Z" // build date in ISO8601 format, output of $(date -u +'%Y-%m-%dT%H:%M:%SZ')
)
