#!/usr/bin/env bash
# Builds the container image turnpike:<version> from the project's .deb and a
# Debian 12 root filesystem made by mmdebstrap (no registry, no base image):
#   packaging/container/build.sh
# DEB=path picks the .deb (default: the newest build-deb/turnpike_*.deb, made
# by packaging/deb/build.sh); TAG overrides the image name; OUT moves the
# cache folder (default build-container/); REFRESH=1 rebuilds the cached root
# filesystem (for Debian security updates); PODMAN_OPTS adds global podman
# options (e.g. a private --root/--runroot, as the test does).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${OUT:-$root/build-container}"
read -r -a podman <<<"podman ${PODMAN_OPTS:-}"

die() { echo "container/build.sh: $*" >&2; exit 1; }
for tool in mmdebstrap podman dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian packages: mmdebstrap podman dpkg)"
done
[ "$(id -u)" -eq 0 ] || command -v newuidmap >/dev/null ||
  die "not root and no newuidmap: mmdebstrap needs root or the uidmap package"

deb="${DEB:-$(ls -1t "$root"/build-deb/turnpike_*.deb 2>/dev/null | head -1 || true)}"
[ -n "$deb" ] && [ -f "$deb" ] ||
  die "no turnpike .deb (looked for build-deb/turnpike_*.deb): run packaging/deb/build.sh first, or set DEB=path"
# A private copy, so a rebuild of the .deb meanwhile cannot mix two versions.
mkdir -p "$out"
cp "$deb" "$out/turnpike.deb"
echo "container/build.sh: using $deb"
deb="$out/turnpike.deb"
version="$(dpkg-deb -f "$deb" Version)"
tag="${TAG:-turnpike:${version%-*}}"   # 0.1.0-1 -> turnpike:0.1.0

# The root filesystem holds exactly the libraries the packaged binary links
# (the .deb's Depends, versions dropped: the mirror's bookworm versions meet
# them), plus CA certificates for push to APNs/FCM. The one alternatives group
# (systemd | systemd-standalone-sysusers ...) only serves the package's
# postinst, which never runs here: the image makes its user itself, below.
pkgs="$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | grep -v '|' |
  sed -E 's/\(.*\)//; s/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd, -)"
[ -n "$pkgs" ] || die "could not read Depends from $deb"
pkgs="$pkgs,ca-certificates"

# essential (no apt in the image) plus the libraries; merged /usr set up by
# mmdebstrap's hook rather than the usrmerge package, which drags in perl.
# Docs, man pages and translations are left out, copyright files kept.
# The hooks' $1 is the root filesystem, expanded by mmdebstrap, not here.
# shellcheck disable=SC2016
mm_args=(
  --variant=essential
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  "--include=$pkgs"
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  # The runtime mounts its own resolv.conf and hostname; the build host's
  # must not leak into the image.
  --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"'
  # The service user with a fixed uid/gid: Kubernetes manifests say
  # runAsUser 10001, and files on mounted volumes must match across
  # rebuilds. Written directly: useradd is not in the essential set.
  --customize-hook='echo "turnpike:x:10001:" >>"$1/etc/group"'
  --customize-hook='echo "turnpike:x:10001:10001:Turnpike TURN relay:/var/lib/turnpike:/usr/sbin/nologin" >>"$1/etc/passwd"'
  # State (SQLite store) belongs to the user; the rest of / stays root's and
  # can be mounted read-only. /etc/turnpike/tls is where certificates go.
  --customize-hook='install -d -o 10001 -g 10001 -m 0750 "$1/var/lib/turnpike"'
  --customize-hook='install -d -m 0755 "$1/etc/turnpike" "$1/etc/turnpike/tls"'
  bookworm
)
# The cache is keyed on everything that shapes the root filesystem.
key="$(printf '%s\n' "${mm_args[@]}" | sha256sum | cut -c1-16)"
rootfs="$out/rootfs-$key.tar"
if [ ! -s "$rootfs" ] || [ "${REFRESH:-0}" = 1 ]; then
  echo "container/build.sh: mmdebstrap bookworm with: $pkgs"
  start=$(date +%s)
  mmdebstrap --format=tar "${mm_args[@]}" "$rootfs.part" || die "mmdebstrap failed (is a Debian mirror reachable through apt?)"
  mv "$rootfs.part" "$rootfs"
  echo "container/build.sh: mmdebstrap took $(($(date +%s) - start))s"
else
  echo "container/build.sh: reusing $rootfs (REFRESH=1 rebuilds it)"
fi

# The build context: the root filesystem, the packaged binary and its
# copyright, the container's default config. The .deb is unpacked, not
# installed: its maintainer scripts set up a systemd host (sysusers, unit),
# none of which applies inside a container.
ctx="$out/context"
rm -rf "$ctx" "$out/deb"
mkdir -p "$ctx"
ln "$rootfs" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs" "$ctx/rootfs.tar"
dpkg-deb -x "$deb" "$out/deb"
install -m 0755 "$out/deb/usr/bin/turnpike" "$ctx/turnpike"
install -m 0644 "$out/deb/usr/share/doc/turnpike/copyright" "$ctx/copyright"
install -m 0644 "$here/turnpike.yaml" "$ctx/turnpike.yaml"

# docker format: the OCI image config has no HEALTHCHECK, podman drops it.
start=$(date +%s)
"${podman[@]}" build --format docker --pull=never \
  --build-arg "VERSION=$version" \
  -f "$here/Containerfile" -t "$tag" "$ctx" ||
  die "podman build failed"
echo "container/build.sh: podman build took $(($(date +%s) - start))s"
"${podman[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$tag"
