# shellcheck shell=bash
# hack/bench section "release", sourced by hack/bench (which defines row, note, interleave, the staged tree).

section_release() {
  make_workspace
  run_release_cold() {
    rm -rf "$ws/_output"
    (cd "$ws" && "$kbuild" release)
  }
  run_release_warm() { (cd "$ws" && "$kbuild" release); }
  (cd "$ws" && "$kbuild" release >/dev/null)   # fill the Go build cache once: "cold" means a new _output
  log "release: $reps reps"
  interleave release_cold
  run_release_cold >/dev/null
  interleave release_warm
  local cold warm pct status
  cold=$(time_of release_cold) warm=$(time_of release_warm)
  pct=$(awk -v w="$warm" -v c="$cold" 'BEGIN { printf "%.1f", 100 * w / c }')
  status=$(awk -v p="$pct" 'BEGIN { print (p < 10) ? "yes" : "NO" }')
  raw_row release "kbuild release of examples/ (17 binaries, 9 images, 13 tarballs), new _output, warm Go cache" "${cold}s" "-" "-" "-" "-" "-"
  raw_row release "kbuild release again, nothing changed (outputs reused from _output/cache)" "${warm}s" "cold" "${cold}s" "${pct}% of cold" "< 10% of cold" "$status"
}
