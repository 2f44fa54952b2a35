# kbuild: the two commands a new user needs are `make release` and `make test`.
WORKSPACE ?= examples
PREFIX ?= /usr/local

.PHONY: all build release quick-release test lint test-real bench fuzz clean deps dist install test-dist test-dist-reproducible

all: build

## What building kbuild and releasing need (git, Go, the C libraries); `make test` adds the test tools.
deps:
	hack/install-deps.sh --release

build: deps
	swift build -c release

## Install what is missing, build kbuild, release $(WORKSPACE) into $(WORKSPACE)/_output.
release:
	WORKSPACE=$(WORKSPACE) build/release.sh

## Same, for the host platform only (KUBE_FASTBUILD=true).
quick-release:
	WORKSPACE=$(WORKSPACE) build/release.sh --quick

## kbuild itself for machines without Swift: _output/dist/kbuild-<version>-linux-<arch>.tar.gz + SHA256SUMS
## (KBUILD_SIGN_KEY=key.pem also signs them; see docs/install.md).
dist:
	hack/dist

## Build the dist tarball and install from it: bin/kbuild, the man page, shell completions under $(PREFIX).
install:
	hack/dist --install $(PREFIX)

## The dist tarball in a minimal Debian root without Swift: install.sh, kbuild init, release, verify.
test-dist:
	hack/test-dist

## Same, plus a second clone of HEAD built in another directory must give byte-identical dist files.
test-dist-reproducible:
	hack/test-dist --reproducible

## Every test, on real tools (git, go, tar, podman, skopeo, umoci).
test:
	hack/test.sh

## swift-format lint of Sources, Tests and Package.swift (.swift-format); part of make test.
lint:
	hack/lint.sh

## Opt-in: kbuild on real repositories (KBUILD_REAL_CONTAINERD and/or KBUILD_REAL_K8SSTYLE=<git dir>; see hack/test-real).
test-real:
	hack/install-deps.sh
	hack/test-real

## Benchmarks against the tools a release engineer would otherwise use.
bench:
	hack/bench

## libFuzzer targets, bounded time each.
fuzz:
	hack/fuzz

clean:
	rm -rf .build $(WORKSPACE)/_output
