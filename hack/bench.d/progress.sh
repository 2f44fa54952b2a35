# shellcheck shell=bash
# hack/bench section "progress", sourced by hack/bench (which defines row, note, interleave; images.sh the workspace).

# What progress costs on a cold build of examples/ (every platform of its config, an empty Go cache each
# run): --progress none asks Go for nothing more than the build; --progress tty also runs `go build -n`
# beside each `go build -v`, reads its stderr as it comes and redraws the display (into a file here: the
# writes are the same as to a terminal); --progress plain is what CI sees.
section_progress() {
  make_workspace
  cold_build() {
    rm -rf "$ws/_output"
    (cd "$ws" && env -u KBUILD_GOCACHE "$kbuild" build --sandbox off --progress "$1" >"$work/out/progress-$1.log")
  }
  run_progress_none() { cold_build none; }
  run_progress_tty() { cold_build tty; }
  run_progress_plain() { cold_build plain; }
  mkdir -p "$work/out"
  log "progress: $reps reps of three cold builds"
  interleave progress_none progress_tty progress_plain
  local none tty plain pct_tty pct_plain status
  none=$(time_of progress_none) tty=$(time_of progress_tty) plain=$(time_of progress_plain)
  pct_tty=$(awk -v a="$tty" -v b="$none" 'BEGIN { printf "%+.1f", 100 * (a - b) / b }')
  pct_plain=$(awk -v a="$plain" -v b="$none" 'BEGIN { printf "%+.1f", 100 * (a - b) / b }')
  status=$(awk -v a="$tty" -v c="$plain" -v b="$none" 'BEGIN { print (a <= 1.01 * b && c <= 1.01 * b) ? "yes" : "NO" }')
  raw_row progress "kbuild build of examples/, cold (empty Go cache), with the live display (tty; plain: ${plain}s, ${pct_plain}%)" \
    "${tty}s" "--progress none" "${none}s" "${pct_tty}% overhead" "≤ +1%" "$status"
  note "progress: medians of $reps interleaved cold builds each; the tty run's display went to a file ($(grep -c . "$work/out/progress-tty.log") writes of lines), the plain run printed $(grep -c compiling "$work/out/progress-plain.log") progress lines"
}
