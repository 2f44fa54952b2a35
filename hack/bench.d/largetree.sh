# shellcheck shell=bash
# hack/bench section "largetree", sourced by hack/bench (which defines row, note, interleave, the staged tree).

# The example workspace plus a generated tree of $KBUILD_BENCH_FILES tracked files (~170 MB) in dirs of
# 100: a release with nothing changed must not read them (the stat index, SourceIndex.swift).
section_largetree() {
  local files=${KBUILD_BENCH_FILES:-20000} big=$work/largetree
  if [ ! -d "$big/.git" ] || [ "$(cat "$big/.files" 2>/dev/null)" != "$files" ]; then
    log "largetree: generating $files files under $big"
    rm -rf "$big" && cp -r "$root/examples" "$big" && rm -rf "$big/_output" "$big/layouts"
    local d dirs=$(( (files + 99) / 100 ))
    for d in $(seq -w 1 "$dirs"); do
      mkdir -p "$big/third_party/blobs/d$d"
      # Deterministic incompressible bytes: AES-CTR of zeros, keyed by the directory number.
      { openssl enc -aes-128-ctr -nosalt -pass "pass:kbuild-$d" -pbkdf2 </dev/zero 2>/dev/null || true; } | head -c $((100 * 8704)) |
        split -b 8704 -d -a 2 - "$big/third_party/blobs/d$d/f"
    done
    (cd "$big" && git init -q -b main && git add -A &&
      git -c user.name=bench -c user.email=bench@example.com commit -qm bench &&
      git -c user.name=bench -c user.email=bench@example.com tag -a v1.0.0 -m v1.0.0)
    echo "$files" >"$big/.files.tmp" && mv "$big/.files.tmp" "$big/.files"
    (cd "$big" && git add .files && git -c user.name=bench -c user.email=bench@example.com commit -qm files)
  fi
  local count size
  count=$(cd "$big" && git ls-files | wc -l) size=$(du -sm --exclude=.git --exclude=_output "$big" | cut -f1)
  (cd "$big" && KUBE_BUILD_PLATFORMS=linux/amd64 "$kbuild" release >/dev/null)   # first release: builds, indexes
  run_large_indexed() { (cd "$big" && KUBE_BUILD_PLATFORMS=linux/amd64 "$kbuild" release); }
  # The same without the index: every file hashed, as before SourceIndex.
  run_large_hashed() { rm -f "$big/_output/cache/source-index"; (cd "$big" && KUBE_BUILD_PLATFORMS=linux/amd64 "$kbuild" release); }
  sleep 2   # let the files settle past the racy window of the first run's index
  (cd "$big" && KUBE_BUILD_PLATFORMS=linux/amd64 "$kbuild" release >/dev/null)
  log "largetree: $reps reps"
  interleave large_indexed large_hashed
  local indexed hashed status
  indexed=$(time_of large_indexed) hashed=$(time_of large_hashed)
  status=$(awk -v t="$indexed" 'BEGIN { print (t < 0.3) ? "yes" : "NO" }')
  raw_row largetree "kbuild release, nothing changed, examples/ + $count tracked files ($size MB), stat index" "${indexed}s" "every file hashed (index removed)" "${hashed}s" \
    "$(awk -v k="$indexed" -v a="$hashed" 'BEGIN { printf "%.2f", a / (k < 0.001 ? 0.001 : k) }')" "< 0.3 s" "$status"
}
