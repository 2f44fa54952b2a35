#!/usr/bin/env bash
# Installs what kbuild needs, and only what is missing. Idempotent: a second run installs nothing.
# Uses apt with --no-install-recommends.
#   hack/install-deps.sh --release      what building kbuild from source and releasing needs (make release)
#   hack/install-deps.sh [PKG...]       that, plus what the tests need (make test), plus extra Debian PKGs
#                                        (e.g. hyperfine, buildah for benchmarks)
set -euo pipefail

release_only=false
if [ "${1:-}" = --release ]; then
  release_only=true
  shift
fi

# package -> a file that proves it is installed. A release needs git, Go and the four C libraries
# kbuild links (their -dev packages, to build kbuild from source; pkg-config finds them).
declare -A probe=(
  [git]=/usr/bin/git
  [golang-go]=/usr/bin/go
  [libarchive-dev]=/usr/include/archive.h
  [libssl-dev]=/usr/include/openssl/evp.h
  [libdeflate-dev]=/usr/include/libdeflate.h
  [libcurl4-openssl-dev]=/usr/include/$(uname -m)-linux-gnu/curl/curl.h   # publishing (libcurl4, as Foundation)
  [pkg-config]=/usr/bin/pkg-config
)
# What only the tests need: the real tools outputs are checked with, servers, cross compilers.
declare -A testprobe=(
  [skopeo]=/usr/bin/skopeo
  [umoci]=/usr/bin/umoci
  [podman]=/usr/bin/podman
  [runc]=/usr/sbin/runc
  [tar]=/bin/tar
  [pigz]=/usr/bin/pigz
  [file]=/usr/bin/file
  [unzip]=/usr/bin/unzip   # unzip -t/-l and zipinfo read the zips in the tests
  [openssl]=/usr/bin/openssl
  [util-linux]=/usr/bin/unshare
  [nginx]=/usr/sbin/nginx
  [time]=/usr/bin/time                 # peak RSS of kbuild diff/verify in the memory-bound tests
  [python3]=/usr/bin/python3           # the hostile cache server and the bomb makers of the tests
  [docker-registry]=/usr/bin/docker-registry   # the registry kbuild publish is tested against
  [apache2-utils]=/usr/bin/htpasswd            # its htpasswd (bcrypt) users for the Basic auth tests
  [tmux]=/usr/bin/tmux                 # the live progress display, tested in a real terminal
  [gcc-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-gcc   # the cgo cross-build tests (linux/arm64)
  [libc6-dev-arm64-cross]=/usr/aarch64-linux-gnu/include/stdio.h   # its C library headers (only recommended)
  [mmdebstrap]=/usr/bin/mmdebstrap   # make test-dist: a minimal Debian root without Swift
  [jq]=/usr/bin/jq                   # the doc tests: docs/ci.md hands digests on with jq
)
extra=("$@")
if ! $release_only; then
  for pkg in "${!testprobe[@]}"; do probe[$pkg]=${testprobe[$pkg]}; done
fi

# PyPI package -> a python3 check that proves it is installed: the outside validators of the SBOM
# (spdx-tools, ntia-conformance-checker), the provenance (in-toto-attestation) and DSSE (securesystemslib),
# and of kbuild's JSON log events (jsonschema).
declare -A pyprobe=()
$release_only || pyprobe=(
  [spdx-tools]="import shutil, spdx_tools; assert shutil.which('pyspdxtools')"
  [ntia-conformance-checker]="import shutil, ntia_conformance_checker; assert shutil.which('ntia-checker')"
  [in-toto-attestation]="import in_toto_attestation.predicates.provenance.v1.provenance_pb2"
  [securesystemslib[crypto]]="import securesystemslib.dsse, cryptography"
  [jsonschema]="import jsonschema; jsonschema.Draft202012Validator"   # --log-format json against its schema
)
pymissing=()
for pkg in "${!pyprobe[@]}"; do
  python3 -c "${pyprobe[$pkg]}" >/dev/null 2>&1 || pymissing+=("$pkg")
done
if [ ${#pymissing[@]} -gt 0 ]; then
  command -v python3 >/dev/null || extra+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || extra+=(python3-pip)
fi

missing=()
for pkg in "${!probe[@]}"; do
  [ -e "${probe[$pkg]}" ] || missing+=("$pkg")
done
for pkg in "${extra[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ] && [ ${#pymissing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#pymissing[@]} -gt 0 ]; then
  echo "install-deps: pip installing ${pymissing[*]}"
  # Debian 12's python3 is "externally managed" (PEP 668): pip then needs --break-system-packages to install
  # these few command-line validators; a pyenv or venv python has no such marker and needs nothing.
  pipflags=()
  if python3 -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    pipflags+=(--break-system-packages)
  fi
  pipsudo="$sudo"
  # A user-owned python (pyenv) installs without sudo.
  [ -w "$(python3 -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" ] && pipsudo=""
  $pipsudo python3 -m pip install -q --disable-pip-version-check "${pipflags[@]}" "${pymissing[@]}"
fi
echo "install-deps: done"
