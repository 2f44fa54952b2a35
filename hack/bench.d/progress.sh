# shellcheck shell=bash
# hack/bench section "progress", sourced by hack/bench (which defines row, note, interleave; images.sh the workspace).

# What progress costs on a cold build of examples/ (every platform of its config, an empty Go cache each
# run): --progress none asks Go for nothing more than the build; --progress tty also runs `go build -n`
# beside each `go build -v`, reads its stderr as it comes and redraws the display (into a file here: the
# writes are the same as to a terminal); --progress plain is what CI sees. Wall time is the target; the
# CPU time of kbuild and every process it waited for (Go's) is reported too: on a shared machine it
# moves less with the load than wall time does.
section_progress() {
  make_workspace
  cold_build() {
    rm -rf "$ws/_output"
    (cd "$ws" && env -u KBUILD_GOCACHE /usr/bin/time -f '%U %S' -o "$work/out/progress-$1.time" \
      "$kbuild" build --sandbox off --progress "$1" >"$work/out/progress-$1.log")
    awk '{ printf "%.2f\n", $1 + $2 }' "$work/out/progress-$1.time" >>"$work/times/progress_$1.cpu"
  }
  run_progress_none() { cold_build none; }
  run_progress_tty() { cold_build tty; }
  run_progress_plain() { cold_build plain; }
  mkdir -p "$work/out"
  log "progress: $reps reps of three cold builds"
  interleave progress_none progress_tty progress_plain
  local none tty plain cpu_none cpu_tty cpu_plain
  none=$(time_of progress_none) tty=$(time_of progress_tty) plain=$(time_of progress_plain)
  cpu_none=$(median "$work/times/progress_none.cpu") cpu_tty=$(median "$work/times/progress_tty.cpu")
  cpu_plain=$(median "$work/times/progress_plain.cpu")
  percent() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", 100 * (a - b) / b }'; }
  met() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= 1.01 * b) ? "yes" : "NO" }'; }
  raw_row progress "kbuild build of examples/, cold (empty Go cache), live display (--progress tty)" \
    "${tty}s" "--progress none" "${none}s" "$(percent "$tty" "$none")% wall" "≤ +1%" "$(met "$tty" "$none")"
  raw_row progress "the same, plain lines (--progress plain, as in CI)" \
    "${plain}s" "--progress none" "${none}s" "$(percent "$plain" "$none")% wall" "≤ +1%" "$(met "$plain" "$none")"
  raw_row progress "CPU seconds (user+sys, kbuild and Go) of the tty and plain builds" \
    "${cpu_tty}s, ${cpu_plain}s" "--progress none" "${cpu_none}s" \
    "$(percent "$cpu_tty" "$cpu_none")%, $(percent "$cpu_plain" "$cpu_none")% CPU" "≤ +1%" \
    "$(met "$cpu_tty" "$cpu_none"), $(met "$cpu_plain" "$cpu_none")"
  note "progress: medians of $reps interleaved cold builds each (every run removes _output, so Go's cache is empty); the plain run printed $(grep -c compiling "$work/out/progress-plain.log") progress lines"
}
