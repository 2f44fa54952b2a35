# shellcheck shell=bash
# hack/bench section "dist", sourced by hack/bench (which defines row, raw_row, note, the example workspace).

# The dist binary (hack/dist: Swift runtime and Foundation linked statically, stripped) against the
# dynamically linked .build/release/kbuild: start-up of `kbuild --version` and of `kbuild version` in
# examples/ (git describe and the version file), timed with hyperfine (median); and the dist tarball's size.
section_dist() {
  make_workspace
  hack/install-deps.sh hyperfine >/dev/null
  log "dist: hack/dist"
  hack/dist >/dev/null
  local tarball dist=$work/dist csv=$work/dist.csv runs=$((reps * 10))
  tarball=$root/_output/dist/$(awk '{ print $2 }' "$root/_output/dist/SHA256SUMS")
  rm -rf "$dist" && mkdir -p "$dist" && tar -xzf "$tarball" -C "$dist" --strip-components=1
  local what args d s cpu
  for what in --version version; do
    args=$what
    [ "$what" = version ] && args="version -C $ws"
    log "dist: kbuild $args, $runs runs each (hyperfine)"
    hyperfine -N --warmup 3 --runs "$runs" --export-csv "$csv" "$dist/bin/kbuild $args" "$kbuild $args" >&2
    # Median wall time; user+system CPU (less swayed by other work on a shared machine) in the text.
    d=$(awk -F, 'NR == 2 { printf "%.4f", $4 }' "$csv") s=$(awk -F, 'NR == 3 { printf "%.4f", $4 }' "$csv")
    cpu=$(awk -F, 'NR == 2 { d = ($5 + $6) * 1000 } NR == 3 { s = ($5 + $6) * 1000 } END { printf "CPU %.1f ms vs %.1f ms", d, s }' "$csv")
    row dist "start-up: kbuild $what$([ "$what" = version ] && echo ' in examples/'), the dist binary vs the dynamically linked one ($cpu)" \
      "$d" "dynamic .build/release/kbuild" "$s" 0.95
  done
  local bytes binary
  bytes=$(stat -c %s "$tarball") binary=$(stat -c %s "$dist/bin/kbuild")
  raw_row dist "dist tarball size, gzip ($(basename "$tarball"); the stripped binary is $(mb "$binary"))" \
    "$(mb "$bytes")" "target" "25.0 MB" "-" "< 25 MB" "$([ "$bytes" -lt 25000000 ] && echo yes || echo NO)"
  note "dist: 'no slower' allows 5% for hyperfine's spread on a shared machine (≥ 0.95×); 34 MB of the binary is ICU's data, which Foundation's internationalization links in"
}
