# Shared by hack/test-real and hack/bench (section real): real repositories checked out and configured as
# a new user would. Callers define log, fail and $kbuild.

# clone SRC TAG DEST: a checkout of TAG whose _output git ignores (kbuild's own output must not make it dirty).
clone() {
  rm -rf "$3"
  mkdir -p "$(dirname "$3")"
  git clone -q --no-checkout "$1" "$3"
  git -C "$3" -c advice.detachedHead=false checkout -q "$2"
  echo "/_output/" >>"$3/.git/info/exclude"
}

# complete DIR TAG: a fetched snapshot may lack its largest blobs (the checkout leaves them deleted, the tree
# dirty). Commit their removal with a fixed identity and date (both clones get the same commit) and move TAG
# there locally, so the version is still exactly the tag. Prints the import paths of the Go packages hit.
complete() {
  local missing
  missing=$(git -C "$1" ls-files --deleted)
  [ -n "$missing" ] || return 0
  log "$(basename "$(dirname "$1")"): the snapshot lacks $(echo "$missing" | wc -l) blobs: $(echo $missing)"
  echo "$missing" | git -C "$1" rm -q --cached --pathspec-from-file=-
  local date
  date=$(git -C "$1" log -1 --format=%cI)
  GIT_AUTHOR_NAME=test-real GIT_AUTHOR_EMAIL=test-real@localhost GIT_AUTHOR_DATE=$date \
    GIT_COMMITTER_NAME=test-real GIT_COMMITTER_EMAIL=test-real@localhost GIT_COMMITTER_DATE=$date \
    git -C "$1" commit -q -m "test-real: blobs missing from the snapshot"
  git -C "$1" tag -f "$2" >/dev/null
  echo "$missing" | grep '^vendor/.*\.go$' | sed 's,^vendor/,,; s,/[^/]*$,,' | sort -u
}

# k8sstyle_prepare SRC TAG DIR CONFIG: DIR is a checkout of TAG (completed, see `complete`), CONFIG the
# config `kbuild init` wrote for it (kept outside the tree, so the tree stays clean), without the binaries
# that need a package the snapshot lacks, as a user would leave them out.
k8sstyle_prepare() {
  local src=$1 tag=$2 a=$3 config=$4 broken
  clone "$src" "$tag" "$a"
  broken=$(complete "$a" "$tag")
  log "k8sstyle $tag: kbuild init"
  (cd "$a" && "$kbuild" init)
  mv "$a/release/kbuild.yaml" "$config" && rmdir "$a/release"
  grep -q 'version: "k8s.io/component-base/version.gitVersion"' "$config" ||
    fail "k8sstyle: kbuild init did not find k8s.io/component-base/version: $(grep -A8 '^version:' "$config")"

  # As a user would: binaries that need a package the snapshot lacks leave the release.
  local name package
  for name in $(binaries "$config"); do
    package=$(awk -v n="  - name: \"$name\"" '$0 == n { getline; print $2 }' "$config" | tr -d '"')
    local deps
    deps=$(cd "$a" && go list -mod=vendor -deps "$package")
    for gap in $broken; do
      if echo "$deps" | grep -qx "$gap"; then
        log "k8sstyle: $name needs $gap, incomplete in the snapshot: left out of the release"
        awk -v n="  - name: \"$name\"" '$0 == n { skip = 1; next } skip && /^    / { next } { skip = 0; print }' \
          "$config" >"$config.new" && mv "$config.new" "$config"
        break
      fi
    done
  done
}

# binaries CONFIG: the binary names of a config, one per line.
binaries() { sed -n 's/^  - name: "\(.*\)"$/\1/p' "$1"; }
# packages CONFIG: the binaries' packages, one per line.
packages() { sed -n 's/^    package: "\(.*\)"$/\1/p' "$1"; }
