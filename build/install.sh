#!/bin/sh
# Installs kbuild from an unpacked dist tarball: the binary, its man page and shell completions.
#   ./install.sh [PREFIX]     PREFIX defaults to $PREFIX, else /usr/local
#   DESTDIR=/tmp/pkg ./install.sh /usr    stages under DESTDIR (for packaging)
# Puts bin/kbuild, share/man/man1/kbuild.1, and the bash, zsh and fish completions under PREFIX.
# The binary needs git, Go and three C libraries: see INSTALL.md (apt-get install … libarchive13 …).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-${PREFIX:-/usr/local}}
case "$prefix" in
  /*) ;;
  *) echo "error: $prefix: the prefix is not an absolute path; give one like /usr/local or \$HOME/.local" >&2; exit 64 ;;
esac
dest=${DESTDIR:-}$prefix

put() { # mode, file under this directory
  mkdir -p "$dest/$(dirname "$2")"
  # Beside the target, then renamed: a running kbuild is never overwritten in place.
  cp "$here/$2" "$dest/$2.install-tmp"
  chmod "$1" "$dest/$2.install-tmp"
  mv -f "$dest/$2.install-tmp" "$dest/$2"
}
put 0755 bin/kbuild
put 0644 share/man/man1/kbuild.1
put 0644 share/bash-completion/completions/kbuild
put 0644 share/zsh/site-functions/_kbuild
put 0644 share/fish/vendor_completions.d/kbuild.fish
echo "install: kbuild $("$dest/bin/kbuild" --version 2>/dev/null || echo '(does not start here: see INSTALL.md for its libraries)') in $dest/bin"
