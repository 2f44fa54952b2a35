# shellcheck shell=bash
# hack/bench section "zip", sourced by hack/bench (which defines row, note, interleave, the staged tree).
# kbuild's ZipWriter against Info-ZIP's `zip -qr -6` over the packaging section's staged binaries.

zip_with() {
  local out=$1 n
  fresh "$out"
  for n in "${tarballs[@]}"; do
    (cd "$stage" && zip -qr -6 -X "$out/kubernetes-$n.zip" "kubernetes-$n")
  done
}
kbuild_zip_with() { local out=$1; shift; fresh "$out"; mapfile -t dirs < <(stage_dirs); "$bench" zip --out "$out" "$@" "${dirs[@]}"; }
run_kbuild_zip() { kbuild_zip_with "$work/out/kbuild-zip"; }
run_kbuild_zip_j1() { kbuild_zip_with "$work/out/kbuild-zip-j1" --jobs 1; }
run_infozip() { zip_with "$work/out/infozip"; }

section_zip() {
  hack/install-deps.sh zip unzip
  make_stage
  log "zip: $(du -sh "$stage" | cut -f1) in ${#tarballs[@]} zips, $reps reps"
  interleave kbuild_zip kbuild_zip_j1 infozip
  local k z
  k=$(time_of kbuild_zip) z=$(time_of infozip)
  row zip "kbuild zip ($jobs zips at once, members deflated in parallel) vs zip -qr -6 -X, in sequence" "$k" "zip -6" "$z" 3
  row zip "kbuild zip (one zip at a time, members deflated in parallel) vs zip -qr -6 -X" "$(time_of kbuild_zip_j1)" "zip -6" "$z" 3
  local f
  for f in "$work"/out/kbuild-zip/*.zip; do unzip -tq "$f" >/dev/null; done
  # Byte-reproducible: the one-at-a-time run (its own pool use) wrote the same bytes.
  local same=yes
  for f in "$work"/out/kbuild-zip/*.zip; do cmp -s "$f" "$work/out/kbuild-zip-j1/$(basename "$f")" || same=NO; done
  raw_row zip "kbuild zips byte-identical between the parallel and one-at-a-time runs" "$same" "-" "-" "-" "yes" "$same"
  local ks zs
  ks=$(total_bytes "$work"/out/kbuild-zip/*.zip) zs=$(total_bytes "$work"/out/infozip/*.zip)
  note "zip output sizes: kbuild (libdeflate level 6) $(mb "$ks"), zip -6 $(mb "$zs") (kbuild/zip = $(awk -v a="$ks" -v b="$zs" 'BEGIN { printf "%.3f", a / b }')); every kbuild zip passes unzip -tq"
}
