# shellcheck shell=bash
# hack/bench section "shards", sourced by hack/bench (which defines row, note, interleave, the staged tree).

# --- shards: a Kubernetes-size matrix split across processes ------------------------------------
# KBUILD_BENCH_SHARD_BINARIES (default 25) binaries, each importing a different slice of the standard
# library, × KBUILD_BENCH_SHARD_PLATFORMS (default 14) platforms; released once whole, then as 2 and 4
# shards run one after another as separate processes with separate Go caches (as separate machines
# would), then merged. Cold Go caches everywhere: what a CI machine starts from.
make_matrix() {
  local ws=$1 binaries=$2 platforms=$3
  rm -rf "$ws"
  mkdir -p "$ws/release"
  printf 'module example.com/matrix\n\ngo 1.19\n' >"$ws/go.mod"
  local packages=(archive/tar archive/zip bufio bytes compress/bzip2 compress/flate compress/gzip compress/lzw
    compress/zlib container/heap container/list container/ring context crypto/aes crypto/cipher crypto/des
    crypto/dsa crypto/ecdsa crypto/ed25519 crypto/elliptic crypto/hmac crypto/md5 crypto/rand crypto/rc4
    crypto/rsa crypto/sha1 crypto/sha256 crypto/sha512 crypto/subtle crypto/tls crypto/x509 database/sql
    debug/dwarf debug/elf debug/gosym debug/macho debug/pe debug/plan9obj embed encoding/ascii85
    encoding/asn1 encoding/base32 encoding/base64 encoding/binary encoding/csv encoding/gob encoding/hex
    encoding/json encoding/pem encoding/xml errors expvar flag fmt go/ast go/build go/constant go/doc
    go/format go/importer go/parser go/printer go/scanner go/token go/types hash/adler32 hash/crc32
    hash/crc64 hash/fnv hash/maphash html html/template image image/color image/draw image/gif image/jpeg
    image/png index/suffixarray io io/fs log log/syslog math math/big math/bits math/cmplx math/rand mime
    mime/multipart mime/quotedprintable net net/http net/http/cgi net/http/cookiejar net/http/httptest
    net/http/httputil net/http/pprof net/mail net/netip net/rpc net/rpc/jsonrpc net/smtp net/textproto
    net/url os os/exec os/signal os/user path path/filepath plugin reflect regexp regexp/syntax
    runtime/debug runtime/pprof runtime/trace sort strconv strings sync sync/atomic testing/fstest
    testing/iotest text/scanner text/tabwriter text/template time unicode unicode/utf16 unicode/utf8)
  local i p n=${#packages[@]} name
  {
    echo "project: matrix"
    echo "version: {package: example.com/matrix/version}"
    echo "go: {mod: mod}"
    echo "platforms:"
    echo "  client: [$(printf '%s' "$platforms" | sed 's/ /, /g')]"
    echo "  server: []"
    echo "  node: []"
    echo "binaries:"
  } >"$ws/release/kbuild.yaml"
  mkdir -p "$ws/version"
  printf 'package version\n\nvar (\n\tgitVersion = "v0.0.0-dev"\n\tgitCommit = ""\n\tgitTreeState = ""\n\tbuildDate = "1970-01-01T00:00:00Z"\n\tgitMajor = ""\n\tgitMinor = ""\n)\n\nfunc Get() string { return gitVersion }\n' >"$ws/version/version.go"
  for i in $(seq 1 "$binaries"); do
    name=$(printf 'bin%02d' "$i")
    mkdir -p "$ws/cmd/$name"
    {
      echo "package main"
      echo
      echo "import ("
      echo "	\"fmt\""
      echo "	\"example.com/matrix/version\""
      for p in $(seq 0 11); do
        local pkg=${packages[$(((i * 7 + p * 13) % n))]}
        case $pkg in fmt | plugin | log/syslog | net/http/cgi | os/user) continue ;; esac
        echo "	_ \"$pkg\""
      done
      echo ")"
      echo
      echo "func main() { fmt.Println(\"$name\", version.Get()) }"
    } >"$ws/cmd/$name/main.go"
    printf '  - {name: %s, package: ./cmd/%s, kinds: [client]}\n' "$name" "$name" >>"$ws/release/kbuild.yaml"
  done
  (cd "$ws" && git init -q -b main && git add -A && git -c user.name=bench -c user.email=bench@localhost commit -qm matrix \
    && git -c user.name=bench -c user.email=bench@localhost tag -a v1.0.0 -m v1.0.0)
}

section_shards() {
  local binaries=${KBUILD_BENCH_SHARD_BINARIES:-25}
  local platforms=${KBUILD_BENCH_SHARD_PLATFORMS:-"linux/amd64 linux/arm64 linux/arm linux/386 linux/ppc64le linux/s390x linux/riscv64 linux/mips64le darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 windows/386 freebsd/amd64"}
  local count
  count=$(echo "$platforms" | wc -w)
  local base=$work/shards
  log "shards: generating $binaries binaries × $count platforms"
  rm -rf "$base"
  mkdir -p "$base"
  make_matrix "$base/origin" "$binaries" "$platforms"
  local epoch=1700000000
  # One cold release: a new clone, a new Go cache.
  git clone -q "$base/origin" "$base/single"
  local single
  single=$(seconds env -C "$base/single" KBUILD_GOCACHE="$base/gocache-single" SOURCE_DATE_EPOCH=$epoch "$bin/kbuild" release)
  log "  single: ${single}s"
  local n i shard merge slowest sum dirs
  for n in 2 4; do
    slowest=0
    sum=0
    dirs=()
    for i in $(seq 1 "$n"); do
      git clone -q "$base/origin" "$base/s$n-$i"
      shard=$(seconds env -C "$base/s$n-$i" KBUILD_GOCACHE="$base/gocache-s$n-$i" SOURCE_DATE_EPOCH=$epoch "$bin/kbuild" release --shard "$i/$n")
      log "  shard $i/$n: ${shard}s"
      slowest=$(awk -v a="$slowest" -v b="$shard" 'BEGIN { print (b > a) ? b : a }')
      sum=$(awk -v a="$sum" -v b="$shard" 'BEGIN { print a + b }')
      dirs+=("$base/s$n-$i/_output/shards/$i-of-$n")
    done
    git clone -q "$base/origin" "$base/m$n"
    merge=$(seconds env -C "$base/m$n" KBUILD_GOCACHE="$base/gocache-m$n" SOURCE_DATE_EPOCH=$epoch "$bin/kbuild" release --merge "${dirs[@]}")
    log "  merge of $n: ${merge}s"
    cmp -s "$base/single/_output/release-tars/SHA256SUMS" "$base/m$n/_output/release-tars/SHA256SUMS" \
      || { log "merged release of $n shards differs from the single one"; exit 1; }
    raw_row shards "$n shards: critical path (slowest shard + merge)" \
      "$(awk -v s="$slowest" -v m="$merge" 'BEGIN { printf "%.1fs", s + m }')" "one machine" "${single}s" \
      "$(awk -v s="$slowest" -v m="$merge" -v t="$single" 'BEGIN { printf "%.2f×", t / (s + m) }')" "—" "—"
    raw_row shards "$n shards: merge" "${merge}s" "one machine" "${single}s" \
      "$(awk -v m="$merge" -v t="$single" 'BEGIN { printf "%.1f %%", 100 * m / t }')" "≤ 5 %" \
      "$(awk -v m="$merge" -v t="$single" 'BEGIN { print (m / t <= 0.05) ? "yes" : "NO" }')"
    raw_row shards "$n shards: sum of shard work" "${sum}s" "one machine" "${single}s" \
      "$(awk -v s="$sum" -v t="$single" 'BEGIN { printf "%.2f×", s / t }')" "≤ 1.15×" \
      "$(awk -v s="$sum" -v t="$single" 'BEGIN { print (s / t <= 1.15) ? "yes" : "NO" }')"
  done
  note "shards: $binaries binaries × $count platforms, every run from a new clone with a new Go cache; shards run one after another (as separate machines would, without sharing 2 cores); merged releases compared with the single one (SHA256SUMS identical)"
}
