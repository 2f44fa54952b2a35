#!/usr/bin/env bash
# `make release`: install what is missing, build kbuild, release the workspace.
#   WORKSPACE=path/to/go/workspace build/release.sh [kbuild release options, e.g. --quick]
#   KBUILD_PREBUILT=path/to/kbuild uses that kbuild instead of building one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
workspace=${WORKSPACE:-examples}
case "$workspace" in /*) ;; *) workspace="$root/$workspace" ;; esac

# Only what a release needs (git, Go, the C libraries); the test tools come with `make test`.
"$root/hack/install-deps.sh" --release
if [ -n "${KBUILD_PREBUILT:-}" ]; then
  # An already built kbuild (the quick-start and doc tests reuse the one under test instead of building again).
  kbuild=$KBUILD_PREBUILT
  echo "release.sh: using KBUILD_PREBUILT=$kbuild"
else
  echo "release.sh: building kbuild (swift build -c release; the first time takes a few minutes)"
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  if ! (cd "$root" && swift build -c release --product kbuild >"$log" 2>&1); then
    cat "$log" >&2
    echo "release.sh: kbuild did not build" >&2
    exit 1
  fi
  kbuild="$(cd "$root" && swift build -c release --show-bin-path)/kbuild"
fi

echo "release.sh: kbuild release -C $workspace $*"
"$kbuild" release -C "$workspace" "$@"
echo
echo "Release tarballs: $workspace/_output/release-tars"
ls -l "$workspace/_output/release-tars"
