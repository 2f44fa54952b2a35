# shellcheck shell=bash
# hack/bench section "real", sourced by hack/bench (which defines row, note, interleave, the staged tree).

# --- a real repository against its own build script (opt-in, like make test-real) -------------------
# kube-arbiter/arbiter's hack/build.sh runs one `go build` per binary and platform, one after another.
section_real() {
  if [ -z "${KBUILD_REAL_K8SSTYLE:-}" ]; then
    note "real: skipped (set KBUILD_REAL_K8SSTYLE to a git directory of kube-arbiter/arbiter, as for make test-real)"
    return
  fi
  # shellcheck source=hack/lib/real.sh
  source "$root/hack/lib/real.sh"
  fail() { log "FAIL: $*"; exit 1; }
  local tag=${KBUILD_REAL_K8SSTYLE_TAG:-v0.1.0} dir=$work/real/k8sstyle config=$work/real/k8sstyle.yaml
  k8sstyle_prepare "$KBUILD_REAL_K8SSTYLE" "$tag" "$dir" "$config"
  [ -x "$dir/hack/build.sh" ] || fail "real: $tag has no hack/build.sh to compare with"
  # init proposes the host platform; the matrix rows add linux/arm64, as a user would.
  sed -i 's|^  client: \[linux/amd64\]|  client: [linux/amd64, linux/arm64]|' "$config"
  grep -q '^  client: \[linux/amd64, linux/arm64\]' "$config" || fail "real: cannot add linux/arm64 to $config"
  local names module shared file
  names=$(binaries "$config" | tr '\n' ' ')
  # The one-file edit: a function added to a file of the project's own package that every binary imports.
  module=$(cd "$dir" && go list -m)
  shared=$(cd "$dir" && for package in $(packages "$config"); do
    go list -mod=vendor -deps "$package" | grep "^$module/" | sort -u
  done | sort | uniq -c | awk -v n="$(binaries "$config" | wc -l)" '$1 == n { print $2 }' |
    while read -r package; do
      [ "$(cd "$dir" && go list -mod=vendor -f '{{.Name}}' "$package")" = main ] || echo "$package"
    done | head -1)
  [ -n "$shared" ] || fail "real: no package of $module that every binary imports"
  file=$(cd "$dir" && go list -mod=vendor -f '{{.Dir}}/{{index .GoFiles 0}}' "$shared")
  # Each run is timed in a subshell: the edit count lives in a file.
  echo 0 >"$work/real/edits"
  edit() {
    local n=$(($(cat "$work/real/edits") + 1))
    echo "$n" >"$work/real/edits"
    printf '\nfunc kbuildBenchEdit%d() int { return %d }\n' "$n" "$n" >>"$file"
  }
  local gocache=$work/real/gocache-script
  kbuild_build() { (cd "$dir" && env -u KBUILD_GOCACHE KUBE_BUILD_PLATFORMS="$1" "$kbuild" build --config "$config"); }
  # shellcheck disable=SC2086 # one word per binary
  script_build() { (cd "$dir" && GOCACHE=$gocache BUILD_PLATFORMS=$1 hack/build.sh $names 2>&1); }
  run_real_kbuild_cold() { rm -rf "$dir/_output"; kbuild_build linux/amd64; }
  run_real_script_cold() { rm -rf "$gocache" "$dir/_output/bin"; script_build linux/amd64; }
  # Their Makefile passes GOFLAGS through: -trimpath is what makes binaries independent of the checkout's path.
  run_real_script_trimpath_cold() {
    rm -rf "$gocache-trimpath" "$dir/_output/bin"
    # shellcheck disable=SC2086 # one word per binary
    (cd "$dir" && GOCACHE=$gocache-trimpath GOFLAGS=-trimpath BUILD_PLATFORMS=linux/amd64 hack/build.sh $names 2>&1)
  }
  run_real_kbuild_edit() { edit; kbuild_build linux/amd64; }
  run_real_script_edit() { edit; script_build linux/amd64; }
  run_real_kbuild_matrix_cold() { rm -rf "$dir/_output"; kbuild_build "linux/amd64 linux/arm64"; }
  run_real_script_matrix_cold() { rm -rf "$gocache" "$dir/_output/bin"; script_build linux/amd64,linux/arm64; }
  run_real_kbuild_matrix_edit() { edit; kbuild_build "linux/amd64 linux/arm64"; }
  run_real_script_matrix_edit() { edit; script_build linux/amd64,linux/arm64; }
  local saved=$reps what="$(binaries "$config" | wc -l) binaries of kube-arbiter/arbiter $tag (vendor/), kbuild build vs its hack/build.sh"
  reps=${KBUILD_BENCH_COLD_REPS:-$reps}
  log "real: cold, linux/amd64, $reps reps"
  interleave real_kbuild_cold real_script_cold real_script_trimpath_cold
  reps=$saved
  log "real: one-file edit ($shared), linux/amd64, $reps reps"
  interleave real_kbuild_edit real_script_edit
  reps=${KBUILD_BENCH_COLD_REPS:-$reps}
  log "real: cold, linux/amd64 + linux/arm64, $reps reps"
  interleave real_kbuild_matrix_cold real_script_matrix_cold
  reps=$saved
  log "real: one-file edit, linux/amd64 + linux/arm64, $reps reps"
  interleave real_kbuild_matrix_edit real_script_matrix_edit
  row real "$what: linux/amd64, new Go caches" "$(time_of real_kbuild_cold)" "hack/build.sh" "$(time_of real_script_cold)" 1.0
  row real "$what: linux/amd64, new Go caches, theirs with GOFLAGS=-trimpath (as reproducible as kbuild's)" "$(time_of real_kbuild_cold)" "GOFLAGS=-trimpath hack/build.sh" "$(time_of real_script_trimpath_cold)" 1.0
  row real "$what: linux/amd64, after a one-file edit (warm caches)" "$(time_of real_kbuild_edit)" "hack/build.sh" "$(time_of real_script_edit)" 1.6
  row real "$what: linux/amd64 + linux/arm64, new Go caches" "$(time_of real_kbuild_matrix_cold)" "hack/build.sh" "$(time_of real_script_matrix_cold)" 1.3
  row real "$what: linux/amd64 + linux/arm64, after a one-file edit" "$(time_of real_kbuild_matrix_edit)" "hack/build.sh" "$(time_of real_script_matrix_edit)" 1.3
  note "real: the edit appends a new function to $(basename "$file") of $shared (imported by every binary); both contenders see one new edit per run, so each compiles that package and what depends on it, and relinks every binary"
  note "real: kbuild's cold runs start from a new _output (its hermetic Go cache lives there), hack/build.sh's from a new GOCACHE; both build with CGO_ENABLED=0. Without -trimpath Go 1.19 takes most of the standard library precompiled from Debian's GOROOT/pkg/linux_amd64; with it (kbuild always, for binaries independent of the checkout's path) the standard library is compiled into the empty cache too"
  git -C "$dir" checkout -q -- "$file"

  # Packaging + checksums of this release's staged tree: kbuild's package phase (stage, pack, SBOM, sums,
  # provenance) vs tar | gzip -6 (or pigz) of each staged tarball directory, then sha256sum + sha512sum.
  (cd "$dir" && env -u KBUILD_GOCACHE "$kbuild" release --config "$config" >/dev/null)
  local stage=$dir/_output/release-stage staged=()
  mapfile -t staged < <(cd "$stage" && find . -mindepth 1 -maxdepth 2 -type d \( -path './src' -o -path './manifests' \
    -o -path './full' -o -path './*/*' \) ! -path './src/*' ! -path './manifests/*' ! -path './full/*' | sort)
  # kbuild's packer over the same directories (tar, fastGzip, sha256 + sha512 of each tarball while it is written).
  run_real_kbuild_pack() {
    local d inputs=()
    for d in "${staged[@]}"; do inputs+=("$stage/$d=$(echo "${d#./}" | tr / -)"); done
    fresh "$work/out/real-kbuild"
    "$bench" pack --out "$work/out/real-kbuild" "${inputs[@]}"
  }
  # The whole package phase of a release (stage with the src tree read from git, pack, SBOM, sums, provenance).
  run_real_kbuild_package() {
    rm -rf "$dir/_output/cache/package"
    (cd "$dir" && env -u KBUILD_GOCACHE "$kbuild" release --config "$config")
  }
  tar_with() {
    local out=$work/out/real-$1 d
    fresh "$out"
    for d in "${staged[@]}"; do
      tar -C "$stage/$d" -cf - . | "$1" -n -6 >"$out/$(echo "${d#./}" | tr / -).tar.gz"
    done
    (cd "$out" && sha256sum -- *.tar.gz >SHA256SUMS && sha512sum -- *.tar.gz >SHA512SUMS)
  }
  run_real_gzip() { tar_with gzip; }
  run_real_pigz() { tar_with pigz; }
  log "real: packaging ${#staged[@]} staged tarballs ($(du -sh --apparent-size "$stage" | cut -f1)), $reps reps"
  interleave real_kbuild_pack real_kbuild_package real_gzip real_pigz
  local k sizes
  k=$(time_of real_kbuild_pack)
  row real "packaging + checksums of its staged release ($(du -sh --apparent-size "$stage" | cut -f1), ${#staged[@]} tarballs): kbuild's packer vs tar | gzip -n -6 + sha256sum + sha512sum" \
    "$k" "tar|gzip+sha*sum" "$(time_of real_gzip)" 5
  row real "the same vs tar | pigz -n -6 + sha256sum + sha512sum" "$k" "tar|pigz+sha*sum" "$(time_of real_pigz)" 2.5
  row real "kbuild's whole package phase (stage incl. the src tree from git, pack, SBOM, sums, provenance, publish) vs tar | pigz + sums of the staged tree" \
    "$(time_of real_kbuild_package)" "tar|pigz+sha*sum" "$(time_of real_pigz)" 1
  sizes="kbuild $(mb "$(total_bytes "$work"/out/real-kbuild/*.tar.gz)"), gzip -6 $(mb "$(total_bytes "$work"/out/real-gzip/*.tar.gz)"), pigz -6 $(mb "$(total_bytes "$work"/out/real-pigz/*.tar.gz)")"
  note "real: packer output sizes: $sizes; kbuild's digests come from the bytes as they are written (no read-back), the shell's from sha256sum and sha512sum over the finished files"
}
