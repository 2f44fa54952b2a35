# shellcheck shell=bash
# hack/bench section "verify", sourced by hack/bench (which defines row, note, interleave, the staged tree).

# kbuild verify of the example release vs sha256sum -c + sha512sum -c of the same files (it checks far more:
# every tarball opened, every binary's format and version, every image, the sources against git), and
# --rebuild vs a cold release. Timed with hyperfine (median), installed like the other extras.
section_verify() {
  make_workspace
  hack/install-deps.sh hyperfine >/dev/null
  (cd "$ws" && "$kbuild" release >/dev/null)
  local tars=$ws/_output/release-tars csv=$work/verify.csv
  log "verify: $reps runs each (hyperfine)"
  hyperfine -N --warmup 1 --runs "$reps" --export-csv "$csv" \
    "$kbuild verify -C $ws" \
    "sh -c 'cd $tars && sha256sum -c --quiet SHA256SUMS && sha512sum -c --quiet SHA512SUMS'" >&2
  local k s
  k=$(awk -F, 'NR == 2 { printf "%.3f", $4 }' "$csv") s=$(awk -F, 'NR == 3 { printf "%.3f", $4 }' "$csv")
  row verify "kbuild verify of examples/'s release (sums, $(ls "$tars" | grep -c '\.tar\.gz$') tarballs opened, binaries, images, sources) vs sha256sum -c + sha512sum -c (1/speedup = how many times longer)" \
    "$k" "sha256sum+sha512sum -c" "$s" 0.5
  # --rebuild = verify + clone + a release with an empty kbuild cache (warm Go cache) + diff; vs the cold release.
  run_release_cold() { rm -rf "$ws/_output" && (cd "$ws" && "$kbuild" release); }
  run_rebuild() { (cd "$ws" && "$kbuild" verify --rebuild); }
  run_release_cold >/dev/null
  interleave rebuild release_cold
  local r c
  r=$(time_of rebuild) c=$(time_of release_cold)
  row verify "kbuild verify --rebuild (verify + clone + release with an empty kbuild cache + byte comparison) vs a cold release" \
    "$r" "cold release" "$c" 0.91
  note "verify: a speedup of 0.5 means verify takes twice as long as sha256sum -c + sha512sum -c; the target is within 2× (≥ 0.5); --rebuild's target ≤ 1.1× a cold release (≥ 0.91)"
}
