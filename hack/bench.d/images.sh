# shellcheck shell=bash
# hack/bench section "images", sourced by hack/bench (which defines row, note, interleave, the staged tree).

# --- the example workspace: images, whole release, build orchestration ---------------------------
ws=$work/ws
kbuild=$bin/kbuild
export KBUILD_GOCACHE=$work/gocache
make_workspace() {
  [ -d "$ws/.git" ] && return
  log "cloning examples/ into $ws"
  rm -rf "$ws" && cp -r "$root/examples" "$ws" && rm -rf "$ws/_output" "$ws/layouts"   # layouts/: workspaces of their own
  (cd "$ws" && git init -q -b main && git add -A &&
    git -c user.name=bench -c user.email=bench@example.com commit -qm bench &&
    git -c user.name=bench -c user.email=bench@example.com tag -a v1.0.0 -m v1.0.0)
}
server_platforms="linux/amd64 linux/arm64 linux/arm"

section_images() {
  make_workspace
  hack/install-deps.sh buildah >/dev/null
  (cd "$ws" && KUBE_BUILD_PLATFORMS="$server_platforms" "$kbuild" build >/dev/null)
  local images=("$ws"/_output/local/bin/linux/*/kube-*)
  images=($(printf '%s\n' "${images[@]}" | grep -v kubectl | grep -v kubelet))
  run_kbuild_images() {
    rm -rf "$ws/_output/release-images" "$ws/_output/cache/image"
    (cd "$ws" && KUBE_BUILD_PLATFORMS="$server_platforms" "$kbuild" images)
  }
  run_buildah() {
    local store=$work/buildah out=$work/out/buildah b arch name ctr
    rm -rf "$store" "$out" && mkdir -p "$out"
    local B=(buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs)
    for b in "${images[@]}"; do
      arch=$(basename "$(dirname "$b")") name=$(basename "$b")
      ctr=$("${B[@]}" from --arch "$arch" scratch)
      "${B[@]}" copy "$ctr" "$b" /usr/local/bin/"$name" >/dev/null
      "${B[@]}" config --entrypoint "[\"/usr/local/bin/$name\"]" --arch "$arch" "$ctr"
      "${B[@]}" commit -q "$ctr" "docker-archive:$out/$name-$arch.tar:registry.k8s.io/$name-$arch:bench" >/dev/null
      "${B[@]}" rm "$ctr" >/dev/null
    done
    rm -rf "$store"
  }
  log "images: ${#images[@]} images, $reps reps"
  interleave kbuild_images buildah
  row images "${#images[@]} image tarballs (3 binaries × 3 arches, scratch) vs buildah from scratch + copy + commit docker-archive (vfs)" \
    "$(time_of kbuild_images)" "buildah" "$(time_of buildah)" 10
  note "images: kbuild's time is the whole \`kbuild images\` command (config, version, 9 images, md5 tags); buildah's is one from/copy/config/commit/rm per image"
}
