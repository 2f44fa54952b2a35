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
  # The work progress adds, measured alone (the builds' own spread hides 1 %): kbuild's `go build -n` for
  # each platform of examples/ with its flags, all five binaries each (more than darwin and windows
  # build), Go's cache directory present as it is once the build has begun.
  local plan_cache=$work/out/plan-cache p plan_cpu
  rm -rf "$plan_cache" "$work/out/plan-cpu"
  for p in linux/amd64 linux/arm64 linux/arm darwin/arm64 windows/amd64; do
    for timed in no yes; do
      (cd "$ws" && env -i PATH=/usr/bin:/bin HOME="$work/out" GOCACHE="$plan_cache" GOFLAGS=-mod=mod GOPROXY=off \
        CGO_ENABLED=0 GOOS="${p%/*}" GOARCH="${p#*/}" GOARM=7 /usr/bin/time -f '%U %S' -o "$work/out/plan-time" \
        go build -n -o "$work/out/plan/" -trimpath -buildvcs=false -gcflags=all=-dwarf=false ./cmd/... 2>/dev/null)
      [ "$timed" = yes ] && cat "$work/out/plan-time" >>"$work/out/plan-cpu"
    done
  done
  plan_cpu=$(awk '{ s += $1 + $2 } END { printf "%.2f", s }' "$work/out/plan-cpu")
  raw_row progress "what progress adds, alone: go build -n for the 5 platforms (CPU seconds)" \
    "${plan_cpu}s" "the cold build's CPU (--progress none)" "${cpu_none}s" \
    "$(awk -v a="$plan_cpu" -v b="$cpu_none" 'BEGIN { printf "+%.1f", 100 * a / b }')% CPU" \
    "≤ +1%" "$(met "$(awk -v a="$cpu_none" -v b="$plan_cpu" 'BEGIN { print a + b }')" "$cpu_none")"
  note "progress: medians of $reps interleaved cold builds each (every run removes _output, so Go's cache is empty); the plain run printed $(grep -c compiling "$work/out/progress-plain.log") progress lines"
}
