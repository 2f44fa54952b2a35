#!/usr/bin/env bash
# swift-format (shipped with the Swift toolchain) in lint mode with .swift-format: a finding is an error.
# Fix findings with: swift format format -i -r Sources Tests Package.swift
set -euo pipefail
cd "$(dirname "$0")/.."
if ! swift format lint --strict -r Sources Tests Package.swift --configuration .swift-format; then
  echo "lint: swift-format findings above; fix them with: swift format format -i -r Sources Tests Package.swift" >&2
  exit 1
fi
echo "lint: swift-format clean"
