# shellcheck shell=bash
# hack/bench section "memory", sourced by hack/bench (which defines row, note, interleave, the staged tree).

section_memory() {
  make_stage
  [ -x /usr/bin/time ] || { raw_row memory "peak RSS of packaging" "n/a" "-" "-" "-" "< 100 MB" "/usr/bin/time missing"; return; }
  fresh "$work/out/kbuild-rss"
  mapfile -t dirs < <(stage_dirs)
  /usr/bin/time -f '%M' -o "$work/rss" "$bench" pack --out "$work/out/kbuild-rss" "${dirs[@]}" >/dev/null
  local kb status
  kb=$(tail -1 "$work/rss")
  status=$(awk -v k="$kb" 'BEGIN { print (k < 100 * 1024) ? "yes" : "NO" }')
  raw_row memory "peak RSS of packaging the $(du -sh "$stage" | cut -f1) tree ($jobs tarballs at once, /usr/bin/time)" \
    "$(awk -v k="$kb" 'BEGIN { printf "%.1f MB", k / 1024 }')" "-" "-" "-" "< 100 MB" "$status"
}
