#!/usr/bin/env bash
# `make release`: install what is missing, build kbuild, release the workspace.
#   WORKSPACE=path/to/go/workspace build/release.sh [kbuild release options, e.g. --quick]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
workspace=${WORKSPACE:-examples}
case "$workspace" in /*) ;; *) workspace="$root/$workspace" ;; esac

"$root/hack/install-deps.sh"
(cd "$root" && swift build -c release --product kbuild 2>&1 | grep -E "error|warning:|Compiling kbuild|Build complete" || true)
kbuild="$(cd "$root" && swift build -c release --show-bin-path)/kbuild"
[ -x "$kbuild" ] || { echo "release.sh: kbuild did not build" >&2; exit 1; }

"$kbuild" release -C "$workspace" "$@"
echo
echo "Release tarballs: $workspace/_output/release-tars"
ls -l "$workspace/_output/release-tars"
