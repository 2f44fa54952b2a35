# shellcheck shell=bash
# hack/bench section "packaging", sourced by hack/bench (which defines row, note, interleave, the staged tree).

run_kbuild_nocache() { pack_with "$work/out/kbuild-nocache" --no-cache; }
# A second release of the same tree: the deflate cache of the first is kept.
run_kbuild_warm() {
  fresh "$work/out/kbuild-warm"
  mapfile -t dirs < <(stage_dirs)
  "$bench" pack --out "$work/out/kbuild-warm" --cache "$work/deflate-cache-warm" "${dirs[@]}"
}

section_packaging() {
  make_stage
  log "packaging: $(du -sh "$stage" | cut -f1) in ${#tarballs[@]} tarballs, $reps reps"
  rm -rf "$work/deflate-cache-warm"
  run_kbuild_warm >/dev/null
  interleave kbuild kbuild_j1 kbuild_nodigest kbuild_nocache kbuild_warm kbuild_zlib gzip pigz
  local k g p
  k=$(time_of kbuild) g=$(time_of gzip) p=$(time_of pigz)
  row packaging "kbuild (fastGzip, $jobs tarballs at once) vs tar | gzip -n -6, in sequence" "$k" "tar|gzip" "$g" 2
  row packaging "kbuild (fastGzip, $jobs tarballs at once) vs tar | pigz -n -6, in sequence" "$k" "tar|pigz" "$p" 1
  row packaging "kbuild (fastGzip, one tarball at a time) vs tar | gzip -n -6" "$(time_of kbuild_j1)" "tar|gzip" "$g" 2
  row packaging "kbuild with libarchive's zlib gzip ($jobs at once) vs tar | gzip -n -6" "$(time_of kbuild_zlib)" "tar|gzip" "$g" 1
  row packaging "kbuild (fastGzip, no deflate cache: every block deflated, as before entry-aligned blocks) vs tar | pigz -n -6" "$(time_of kbuild_nocache)" "tar|pigz" "$p" 1
  row packaging "kbuild, second release of the same tree (deflate cache of the first kept) vs kbuild's first release" "$(time_of kbuild_warm)" "kbuild first" "$k" 1
  gzip -t "$work"/out/kbuild/*.tar.gz
  local f same=yes
  for f in "$work"/out/kbuild/*.tar.gz; do
    cmp -s "$f" "$work/out/kbuild-nocache/$(basename "$f")" && cmp -s "$f" "$work/out/kbuild-warm/$(basename "$f")" || same=NO
  done
  raw_row packaging "kbuild tarballs byte-identical with no cache, an empty cache and a warm one" "$same" "-" "-" "-" "yes" "$same"
  local staged ks gs ps zs
  staged=$(du -sb "$stage" | cut -f1)
  ks=$(total_bytes "$work"/out/kbuild/*.tar.gz) gs=$(total_bytes "$work"/out/gzip/*.tar.gz)
  ps=$(total_bytes "$work"/out/pigz/*.tar.gz) zs=$(total_bytes "$work"/out/kbuild-zlib/*.tar.gz)
  note "packaging input: $(mb "$staged") of Go binaries (stripped toolchain commands + one net/http program, each copy with a unique 4 KiB tail) in ${#tarballs[@]} tarballs"
  note "output sizes: kbuild fastGzip $(mb "$ks"), kbuild zlib gzip $(mb "$zs"), tar|gzip -6 $(mb "$gs"), tar|pigz -6 $(mb "$ps") (kbuild/gzip = $(awk -v a="$ks" -v b="$gs" 'BEGIN { printf "%.3f", a / b }'))"
  note "deflate cache: each kbuild pack (first release) starts with an empty _output/cache/deflate; in the staged tree each binary recurs in several tarballs with its own 4 KiB tail, so all its blocks but the last are deflated once"
  note "fastGzip output passes gzip -t; GNU tar, Go (archive/tar + compress/gzip) and libarchive read it (Tests/KbuildArchiveTests/FastGzipTests.swift)"
}
