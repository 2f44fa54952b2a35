#!/usr/bin/env bash
# Builds kbuild and its tests; any compiler warning in our own code is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The build's own status, not grep's or tee's: `|| true` after a pipeline would hide a failed build.
status=0
swift build --build-tests "$@" >"$log" 2>&1 || status=$?
grep -E "error:|Build complete" "$log" || true
if [ "$status" -ne 0 ]; then
  cat "$log"
  echo "verify-build: swift build failed (exit $status)" >&2
  exit "$status"
fi
if grep -E "^$(pwd)/(Sources|Tests)/.*warning:" "$log"; then
  echo "verify-build: warnings in kbuild's own code (listed above) are bugs" >&2
  exit 1
fi
