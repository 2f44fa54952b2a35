# shellcheck shell=bash
# hack/bench section "checksums", sourced by hack/bench (which defines row, note, interleave, the staged tree).

section_checksums() {
  [ -d "$work/out/kbuild" ] || { make_stage; run_kbuild >/dev/null; }
  run_sha_tools() {
    fresh "$work/out/sums-tools"
    # CPU seconds too (user + system), to compare with the CPU kbuild spends hashing while writing.
    (cd "$work/out/kbuild" && /usr/bin/time -a -o "$work/times/sha_tools.cpu" -f '%U %S' sh -c \
      'sha256sum -- *.tar.gz >"$1/SHA256SUMS" && sha512sum -- *.tar.gz >"$1/SHA512SUMS"' sh "$work/out/sums-tools")
  }
  run_sha_kbuild() { fresh "$work/out/sums-kbuild"; "$bench" sums --out "$work/out/sums-kbuild" "$work"/out/kbuild/*.tar.gz; }
  # The CPU the release pays for its sums: the writer feeds every compressed byte once through one
  # libcrypto hasher (sha256 + sha512). `sums --jobs 1` does exactly that over the same bytes (plus a read
  # from the page cache), in CPU seconds that do not depend on what else the machine is doing.
  run_sha_kbuild_cpu() {
    fresh "$work/out/sums-kbuild-cpu"
    "$bench" sums --jobs 1 --out "$work/out/sums-kbuild-cpu" "$work"/out/kbuild/*.tar.gz |
      awk -F= '$1 == "cpu_seconds" { print $2 }' >>"$work/times/sha_kbuild_cpu.cpu"
  }
  log "checksums: $reps reps"
  interleave sha_tools sha_kbuild sha_kbuild_cpu
  cmp "$work/out/sums-tools/SHA256SUMS" "$work/out/sums-kbuild/SHA256SUMS"
  cmp "$work/out/sums-tools/SHA512SUMS" "$work/out/sums-kbuild/SHA512SUMS"
  local tools tools_cpu
  tools=$(time_of sha_tools)
  awk '{ printf "%.2f\n", $1 + $2 }' "$work/times/sha_tools.cpu" >"$work/times/sha_tools.cpusum"
  tools_cpu=$(median "$work/times/sha_tools.cpusum")
  row checksums "kbuild, hashed while writing (no read-back): CPU seconds of its sha256 + sha512 pass over the tarballs' bytes, vs CPU seconds of sha256sum + sha512sum" \
    "$(median "$work/times/sha_kbuild_cpu.cpu")" "sha256sum+sha512sum" "$tools_cpu" 4
  if [ -s "$work/times/kbuild_nodigest.cpu" ]; then
    note "checksums, cross-check: packing with digests took $(median "$work/times/kbuild.cpu") CPU s, without $(median "$work/times/kbuild_nodigest.cpu") CPU s (medians; the difference of two multi-second numbers on a loaded machine is noisy, hence the direct measurement in the table)"
  fi
  # Informational: a release never needs this pass (its sums come from the writer), so no 4× target.
  row checksums "kbuild, standalone SHA256SUMS + SHA512SUMS over finished files (one read per file, $jobs files at once) vs sha256sum + sha512sum" "$(time_of sha_kbuild)" "sha256sum+sha512sum" "$tools" 1
  note "checksum files from kbuild and from sha256sum/sha512sum are byte-identical (checked with cmp)"
}
