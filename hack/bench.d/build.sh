# shellcheck shell=bash
# hack/bench section "build", sourced by hack/bench (which defines row, note, interleave, the staged tree).

section_build() {
  make_workspace
  local platforms="linux/amd64 linux/arm64 linux/arm darwin/arm64 windows/amd64"
  local ldflags
  ldflags="-s -w -buildid= $(cd "$ws" && "$kbuild" version --ldflags k8s.io/example/pkg/version)"
  run_kbuild_build() {
    rm -rf "$ws/_output/local/bin" "$ws/_output/cache/build"
    (cd "$ws" && "$kbuild" build --sandbox off)
  }
  # The same matrix by hand: one grouped go build per platform, as many at once as kbuild runs.
  run_go_loop() {
    rm -rf "$work/out/loop"
    echo $platforms | tr ' ' '\n' | xargs -P "$jobs" -I{} sh -c '
      os=${1%/*} arch=${1#*/}
      case "$1" in
        linux/*) pkgs="./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-proxy ./cmd/kubelet ./cmd/kubectl" ;;
        *) pkgs="./cmd/kubectl" ;;
      esac
      mkdir -p "$2/$os/$arch"
      cd "$3" && env -i PATH=/usr/bin:/bin HOME="$2" GOCACHE="$4" GOPATH="$2/gopath" GOFLAGS=-mod=mod GOPROXY=off \
        CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=7 go build -o "$2/$os/$arch/" -trimpath -buildvcs=false \
        -ldflags "$5" $pkgs' sh {} "$work/out/loop" "$ws" "$KBUILD_GOCACHE" "$ldflags"
  }
  (cd "$ws" && "$kbuild" build >/dev/null)   # warm the Go build cache for both contenders
  # A build of the small example takes about 1.5 s, so a 5% difference is 75 ms: far below the noise of
  # three repetitions. Four times as many, interleaved so that load drifts hit both sides alike.
  local saved=$reps
  reps=$((saved * 4))
  log "build: $reps reps"
  interleave kbuild_build go_loop
  reps=$saved
  local k g pct status
  k=$(time_of kbuild_build) g=$(time_of go_loop)
  pct=$(awk -v k="$k" -v g="$g" 'BEGIN { printf "%+.1f", 100 * (k - g) / g }')
  status=$(awk -v k="$k" -v g="$g" 'BEGIN { print (k <= 1.05 * g) ? "yes" : "NO" }')
  raw_row build "kbuild build of examples/ (17 builds on 5 platforms, warm Go cache, sandbox off) vs a shell loop of grouped go build, $jobs at once" \
    "${k}s" "go build loop" "${g}s" "${pct}% overhead" "≤ +5%" "$status"
  note "build: medians of $((reps * 4)) interleaved runs each; both contenders relink everything (kbuild's up-to-date records are removed before each run)"
}
