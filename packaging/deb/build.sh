#!/usr/bin/env bash
# Builds the turnpike .deb from this checkout, uncommitted changes included:
#   packaging/deb/build.sh          -> build-deb/turnpike_<version>_<arch>.deb
# JOBS (default 2) sets the parallel build; OUT changes build-deb/.
# Needs the Build-Depends of packaging/debian/control (packaging/install-deps.sh
# plus debhelper and libsystemd-dev) and dpkg-dev.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${OUT:-$root/build-deb}"
src="$out/src"

# A fresh copy of what git knows about or would add (tracked, plus untracked
# files not ignored), so build folders and local junk never reach the package.
rm -rf "$src"
mkdir -p "$src"
(
  cd "$root"
  git ls-files -z -co --exclude-standard |
    while IFS= read -r -d '' f; do
      # Tracked files deleted in the work tree are listed too: skip them.
      if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done |
    tar --null -T - -cf -
) | tar -C "$src" -xf -
cp -R "$root/packaging/debian" "$src/debian"
rm -f "$out"/turnpike_*.deb "$out"/turnpike-dbgsym_*.deb "$out"/turnpike_*.buildinfo \
  "$out"/turnpike_*.changes

# debhelper points HOME at a scratch folder while building, which would hide
# the usual ccache directory; name it explicitly so rebuilds hit the cache.
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_DIR="${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccache}"
fi

cd "$src"
start=$(date +%s)
DEB_BUILD_OPTIONS="parallel=${JOBS:-2} nocheck" dpkg-buildpackage -b -us -uc
echo "build.sh: dpkg-buildpackage took $(($(date +%s) - start))s"
ls -1 "$out"/turnpike_*.deb
