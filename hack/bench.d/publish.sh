# shellcheck shell=bash
# hack/bench section "publish", sourced by hack/bench (which defines row, note, interleave, the example workspace).

# start_registry DIR: Debian's docker-registry on a free port of 127.0.0.1 with its storage in DIR;
# sets registry_pid and registry (host:port).
start_registry() {
  local dir=$1 port
  rm -rf "$dir" && mkdir -p "$dir"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/data\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$dir" "$port" >"$dir/config.yml"
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  registry_pid=$! registry=127.0.0.1:$port
  local i
  for i in $(seq 1 200); do
    curl -sf "http://$registry/v2/" >/dev/null && return 0
    sleep 0.05
  done
  log "docker-registry did not start: $(cat "$dir/log")"
  return 1
}
# The requests the registry has answered so far (its access log; start_registry's own probe included).
registry_requests() { grep -cE '"(GET|HEAD|PUT|POST|PATCH|DELETE) /v2/' "$work/registry/log" || true; }
stop_registry() { kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; }

section_publish() {
  make_workspace
  hack/install-deps.sh docker-registry >/dev/null
  (cd "$ws" && KUBE_BUILD_PLATFORMS="$server_platforms" "$kbuild" release >/dev/null)
  local version tag images=("$ws"/_output/release-images/*/*.tar)
  version=$(cd "$ws" && "$kbuild" version --short)
  tag=${version//+/_}
  # Each run pushes under a namespace of its own: the registry has none of its blobs in those repositories.
  # --reverify: a first publish of a release verifies it (the verification record would skip it on later reps).
  run_kbuild_publish() { (cd "$ws" && "$kbuild" publish --reverify --registry "$registry/k$(date +%s%N)" --tls-verify=false); }
  # The same with the tools a release script would use: skopeo copy of each docker-archive to a per-arch
  # tag, then podman manifest create/add/push per binary (vfs storage of its own, so no daemon either).
  run_skopeo_podman() {
    local store=$work/podman tar arch bin status=0 ns=k$(date +%s%N)
    rm -rf "$store"
    local P=(podman --root "$store/root" --runroot "$store/run" --storage-driver vfs)
    for tar in "${images[@]}"; do
      arch=$(basename "$(dirname "$tar")") bin=$(basename "$tar" .tar)
      skopeo copy -q --dest-tls-verify=false "docker-archive:$tar" "docker://$registry/$ns/$bin:$tag-$arch" || status=1
    done
    for bin in $(printf '%s\n' "${images[@]}" | xargs -n1 basename | sed 's/\.tar$//' | sort -u); do
      "${P[@]}" manifest create "$ns/$bin:$tag" >/dev/null || status=1
      for tar in "$ws"/_output/release-images/*/"$bin.tar"; do
        arch=$(basename "$(dirname "$tar")")
        "${P[@]}" manifest add --tls-verify=false "$ns/$bin:$tag" "docker://$registry/$ns/$bin:$tag-$arch" >/dev/null || status=1
      done
      "${P[@]}" manifest push -q --tls-verify=false "$ns/$bin:$tag" "docker://$registry/$ns/$bin:$tag" >/dev/null || status=1
    done
    rm -rf "$store"
    return $status
  }
  # What kbuild does before it sends anything (kbuild verify, reading the images, the plan): the push
  # phase is the difference.
  run_kbuild_dryrun() { (cd "$ws" && "$kbuild" publish --reverify --registry "$registry/dry" --tls-verify=false --dry-run); }
  start_registry "$work/registry" || return 1
  trap stop_registry EXIT   # a failed run exits the bench: the registry goes with it
  log "publish: ${#images[@]} images, $reps reps"
  interleave kbuild_publish skopeo_podman kbuild_dryrun
  row publish "kbuild publish of the example release's ${#images[@]} images + 3 OCI indexes to a fresh local docker-registry (verify included) vs skopeo copy docker-archive per image + podman manifest create/add/push" \
    "$(time_of kbuild_publish)" "skopeo + podman manifest" "$(time_of skopeo_podman)" 3

  # A second publish with nothing new: the verification record, one HEAD per tag. The requests of one
  # first publish and one repeat, from the registry's access log.
  local before first_requests again_requests
  before=$(registry_requests)
  (cd "$ws" && "$kbuild" publish --registry "$registry/again" --tls-verify=false >/dev/null)
  first_requests=$(($(registry_requests) - before)) before=$(registry_requests)
  (cd "$ws" && "$kbuild" publish --registry "$registry/again" --tls-verify=false >/dev/null)
  again_requests=$(($(registry_requests) - before))
  run_kbuild_republish() { (cd "$ws" && "$kbuild" publish --registry "$registry/again" --tls-verify=false); }
  interleave kbuild_republish
  stop_registry
  trap - EXIT
  local first again dry pct status push repush
  first=$(time_of kbuild_publish) again=$(time_of kbuild_republish) dry=$(time_of kbuild_dryrun)
  pct=$(awk -v a="$again" -v f="$first" 'BEGIN { printf "%.1f", 100 * a / f }')
  status=$(awk -v p="$pct" 'BEGIN { print (p <= 5) ? "yes" : "NO" }')
  raw_row publish "kbuild publish again, nothing new (verified earlier: the record; one HEAD per tag), vs the first publish (verifies)" \
    "${again}s" "first publish" "${first}s" "${pct}%" "≤ 5%" "$status"
  # The push phase alone: publish minus its --dry-run (verify, images read, plan printed). Blobs go up while
  # verify runs, so this understates the push when the two overlap.
  push=$(awk -v a="$first" -v d="$dry" 'BEGIN { v = a - d; printf "%.3f", v < 0.001 ? 0.001 : v }')
  repush=$(awk -v a="$again" -v d="$dry" 'BEGIN { v = a - d; printf "%.3f", v < 0.001 ? 0.001 : v }')
  row publish "push phase only (publish minus publish --dry-run, ${dry}s) vs skopeo + podman manifest" \
    "$push" "skopeo + podman manifest" "$(time_of skopeo_podman)" 3
  pct=$(awk -v a="$repush" -v f="$push" 'BEGIN { printf "%.1f", 100 * a / f }')
  status=$(awk -v p="$pct" 'BEGIN { print (p <= 5) ? "yes" : "NO" }')
  raw_row publish "push phase of a second publish with nothing new vs the first's" \
    "${repush}s" "first push phase" "${push}s" "${pct}%" "≤ 5%" "$status"
  note "publish: requests answered by the registry (its access log): a first publish of the example release $first_requests, a second publish with nothing new $again_requests"
  note "publish: both contenders push under a fresh namespace of one local registry each run; kbuild's first publish includes kbuild verify of the release (every tarball opened; blobs go up meanwhile, manifests and tags after it passed)"
  publish_memory
}

# Peak RSS of a whole `kbuild publish --reverify` (verify included) of a release whose kube-proxy image
# carries a 120 MB binary (the example's, with 120 MB of random bytes embedded): larger than the largest
# real-repository image (kube-apiserver, about 140 MB across its layers, is mostly its one binary).
publish_memory() {
  local big=$work/bigws kb mb
  if [ ! -f "$big/_output/release-images/amd64/kube-proxy.tar" ]; then
    rm -rf "$big" && cp -r "$root/examples" "$big" && rm -rf "$big/_output" "$big/layouts"
    head -c $((120 << 20)) /dev/urandom >"$big/cmd/kube-proxy/ballast.bin"
    printf '%s
' 'package main' '' 'import (' '	_ "embed"' '	"os"' ')' '' '//go:embed ballast.bin' 'var ballast []byte' ''       '// Kept by the linker: the image carries all 120 MB.' 'func init() {' '	if len(os.Args) > 1000 {' '		os.Stdout.Write(ballast)' '	}' '}'       >"$big/cmd/kube-proxy/ballast.go"
    (cd "$big" && git init -q -b main && git add -A &&
      git -c user.name=bench -c user.email=bench@example.com commit -qm bench &&
      git -c user.name=bench -c user.email=bench@example.com tag -a v1.0.0 -m v1.0.0 &&
      KUBE_BUILD_PLATFORMS=linux/amd64 "$kbuild" release >/dev/null)
  fi
  local image=$big/_output/release-images/amd64/kube-proxy.tar
  start_registry "$work/registry-big" || return 1
  trap stop_registry EXIT
  (cd "$big" && /usr/bin/time -f '%e %M' -o "$work/publish-rss" "$kbuild" publish --reverify \
    --registry "$registry/big" --tls-verify=false >/dev/null) || { stop_registry; trap - EXIT; return 1; }
  # The same release published again: on a release of real size, what nothing new costs next to the first.
  run_kbuild_republish_big() { (cd "$big" && "$kbuild" publish --registry "$registry/big" --tls-verify=false); }
  interleave kbuild_republish_big
  stop_registry
  trap - EXIT
  local first again pct
  first=$(tail -1 "$work/publish-rss" | cut -d' ' -f1) again=$(time_of kbuild_republish_big)
  pct=$(awk -v a="$again" -v f="$first" 'BEGIN { printf "%.1f", 100 * a / f }')
  raw_row publish "kbuild publish again, nothing new, of a release whose image is $(du -m "$image" | cut -f1) MB, vs its first publish (verify included, one run)" \
    "${again}s" "first publish" "${first}s" "${pct}%" "≤ 5%" "$(awk -v p="$pct" 'BEGIN { print (p <= 5) ? "yes" : "NO" }')"
  kb=$(tail -1 "$work/publish-rss" | cut -d' ' -f2)
  mb=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
  raw_row publish "peak RSS of a whole kbuild publish --reverify (verify and push) of a release whose image is $(du -m "$image" | cut -f1) MB (/usr/bin/time)" \
    "${mb} MB" "-" "-" "-" "< 100 MB" "$(awk -v m="$mb" 'BEGIN { print (m < 100) ? "yes" : "NO" }')"
}
