# shellcheck shell=bash
# hack/bench section "plan", sourced by hack/bench (which defines row, note, raw_row, the kbuild binary).

# Planning a configured layout at scale: 25 binaries × 14 platforms, a tar.gz/zip archive per platform
# (wrap directory, bin/{{binary}}, a glob, a generated file, a .sha256sum) and every binary as an asset
# of its own: 350 builds, 364 archives. `kbuild plan --json` vs `kbuild version` in the same repository
# (both run git describe and read the config's workspace; the difference is loading the config, asking Go
# about the version variables, planning and writing the JSON). Timed with hyperfine (median wall, mean CPU).
section_plan() {
  hack/install-deps.sh hyperfine >/dev/null
  local dir=$work/plan25 csv=$work/plan.csv
  make_plan_workspace "$dir"
  log "plan: $reps runs each (hyperfine)"
  hyperfine -N --warmup 2 --runs "$((reps * 5))" --export-csv "$csv" \
    "$kbuild plan --json -C $dir" "$kbuild version -C $dir" >&2
  local p v cost status pc vc cpu
  p=$(awk -F, 'NR == 2 { printf "%.3f", $4 }' "$csv") v=$(awk -F, 'NR == 3 { printf "%.3f", $4 }' "$csv")
  cost=$(awk -v p="$p" -v v="$v" 'BEGIN { printf "%.3f", p - v }')
  # CPU seconds (user + system, mean) too: on a loaded machine the wall medians swing by tens of ms.
  pc=$(awk -F, 'NR == 2 { printf "%.3f", $5 + $6 }' "$csv") vc=$(awk -F, 'NR == 3 { printf "%.3f", $5 + $6 }' "$csv")
  cpu=$(awk -v p="$pc" -v v="$vc" 'BEGIN { printf "%.3f", p - v }')
  status=$(awk -v c="$cost" 'BEGIN { print (c < 0.05) ? "yes" : "NO" }')
  raw_row plan "kbuild plan --json of a configured layout, 25 binaries × 14 platforms (350 builds, 364 archives, 728 entries), minus kbuild version in the same repository" \
    "${cost}s (CPU ${cpu}s)" "kbuild version" "${v}s (CPU ${vc}s)" "plan ${p}s (CPU ${pc}s)" "< 0.05s" "$status"
}

# A committed, tagged Go workspace with 25 mains and a two-archive layout over 14 platforms.
make_plan_workspace() {
  local dir=$1 i
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir" && mkdir -p "$dir/version" "$dir/release"
  printf 'module example.com/big\n\ngo 1.19\n' >"$dir/go.mod"
  printf 'package version\n\nvar Version = "dev"\n' >"$dir/version/version.go"
  printf 'MIT\n' >"$dir/LICENSE"
  {
    echo 'project: big'
    echo 'version: {package: example.com/big/version, variables: {version: Version}}'
    echo 'platforms:'
    echo '  client: [linux/amd64, linux/arm64, linux/arm, linux/386, linux/ppc64le, linux/s390x, linux/riscv64,'
    echo '    darwin/amd64, darwin/arm64, windows/amd64, windows/arm64, windows/386, freebsd/amd64, freebsd/arm64]'
    echo 'binaries:'
    for i in $(seq -w 1 25); do
      mkdir -p "$dir/cmd/bin$i" && printf 'package main\n\nfunc main() {}\n' >"$dir/cmd/bin$i/main.go"
      echo "  - {name: bin$i, kinds: [client]}"
    done
    echo 'archives:'
    echo '  - name: "{{project}}_{{bareVersion}}_{{os | title}}_{{arch | uname}}"'
    echo '    formats: {windows: zip}'
    echo '    wrap: "{{project}}-{{version}}"'
    echo '    binaryPath: "bin/{{binary}}"'
    echo '    files: ["LICENSE*"]'
    echo '    generated: [{dst: VERSION, content: "{{version}}\n"}]'
    echo '    checksums: [sha256sum]'
    echo '  - name: "{{binary}}-{{os}}-{{arch}}"'
    echo '    format: binary'
  } >"$dir/release/kbuild.yaml"
  (cd "$dir" && git init -q -b main && git add -A &&
    git -c user.name=bench -c user.email=bench@example.com commit -qm plan &&
    git -c user.name=bench -c user.email=bench@example.com tag -a v1.0.0 -m v1.0.0)
  touch "$dir/.complete"
}
