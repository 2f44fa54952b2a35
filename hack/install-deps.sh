#!/usr/bin/env bash
# Installs what kbuild needs to build, test and release, and only what is missing.
# Idempotent: a second run installs nothing. Uses apt with --no-install-recommends.
set -euo pipefail

# package -> a file that proves it is installed
declare -A probe=(
  [git]=/usr/bin/git
  [golang-go]=/usr/bin/go
  [libarchive-dev]=/usr/include/archive.h
  [libssl-dev]=/usr/include/openssl/evp.h
  [libdeflate-dev]=/usr/include/libdeflate.h
  [pkg-config]=/usr/bin/pkg-config
  [skopeo]=/usr/bin/skopeo
  [umoci]=/usr/bin/umoci
  [podman]=/usr/bin/podman
  [runc]=/usr/sbin/runc
  [tar]=/bin/tar
  [pigz]=/usr/bin/pigz
  [file]=/usr/bin/file
  [util-linux]=/usr/bin/unshare
  [gcc-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-gcc   # the cgo cross-build tests (linux/arm64)
)
extra=("$@")   # e.g. hack/install-deps.sh buildah hyperfine (for benchmarks)

missing=()
for pkg in "${!probe[@]}"; do
  [ -e "${probe[$pkg]}" ] || missing+=("$pkg")
done
for pkg in "${extra[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
