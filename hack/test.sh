#!/usr/bin/env bash
# The whole test suite: dependencies, the format lint, a warning-free build, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/install-deps.sh
hack/lint.sh
hack/verify-build.sh
swift test "$@"
