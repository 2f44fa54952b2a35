# kbuild: the two commands a new user needs are `make release` and `make test`.
WORKSPACE ?= examples

.PHONY: all build release quick-release test lint test-real bench fuzz clean deps

all: build

deps:
	hack/install-deps.sh

build: deps
	swift build -c release

## Install what is missing, build kbuild, release $(WORKSPACE) into $(WORKSPACE)/_output.
release:
	WORKSPACE=$(WORKSPACE) build/release.sh

## Same, for the host platform only (KUBE_FASTBUILD=true).
quick-release:
	WORKSPACE=$(WORKSPACE) build/release.sh --quick

## Every test, on real tools (git, go, tar, podman, skopeo, umoci).
test:
	hack/test.sh

## swift-format lint of Sources, Tests and Package.swift (.swift-format); part of make test.
lint:
	hack/lint.sh

## Opt-in: kbuild on real repositories (KBUILD_REAL_CONTAINERD and/or KBUILD_REAL_K8SSTYLE=<git dir>; see hack/test-real).
test-real: deps
	hack/test-real

## Benchmarks against the tools a release engineer would otherwise use.
bench:
	hack/bench

## libFuzzer targets, bounded time each.
fuzz:
	hack/fuzz

clean:
	rm -rf .build $(WORKSPACE)/_output
