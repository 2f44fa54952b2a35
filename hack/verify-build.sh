#!/usr/bin/env bash
# Builds kbuild and its tests; any compiler warning in our own code is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log" | grep -E "error:|Build complete" || true
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { cat "$log"; exit "$status"; }
if grep -E "^$(pwd)/(Sources|Tests)/.*warning:" "$log"; then
  echo "verify-build: warnings in kbuild's own code (listed above) are bugs" >&2
  exit 1
fi
