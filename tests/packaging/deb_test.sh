#!/usr/bin/env bash
# The Debian package, end to end on this machine (as root; it installs and
# purges the package):
#   tests/packaging/deb_test.sh              builds with packaging/deb/build.sh
#   DEB=build-deb/turnpike_*.deb tests/...   tests an existing .deb
# lintian clean; dpkg -i; files, owners, modes and the user; the unit passes
# systemd-analyze verify and scores <= 2.5 in systemd-analyze security; the
# installed binary runs as the unit runs it (notify_test.py);
# upgrades keep an edited conffile (conffile unchanged, and changed with
# --force-confold and --force-confnew); an admin's dpkg-statoverride wins;
# remove keeps config and data; purge removes them. The machine is left as it
# was, also on failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
pkg=turnpike
conf=/etc/turnpike/turnpike.yaml
unit=/lib/systemd/system/turnpike.service
max_score=2.5

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root: it installs and purges the package with dpkg"
for tool in dpkg dpkg-deb lintian systemd-analyze setpriv; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'installed\|config-files'; then
  fail "package $pkg is already on this machine; purge it first (dpkg --purge $pkg)"
fi
user_existed=0
getent passwd turnpike >/dev/null && user_existed=1

tmp="$(mktemp -d)"
policy=/usr/sbin/policy-rc.d
created_policy=0
override_added=0
cleanup() {
  local rc=$?
  set +e
  if dpkg-query -W "$pkg" >/dev/null 2>&1; then
    dpkg --purge "$pkg" >/dev/null 2>&1 || echo "cleanup: dpkg --purge $pkg failed"
  fi
  [ $override_added -eq 1 ] && dpkg-statoverride --remove "$conf" 2>/dev/null
  [ $created_policy -eq 1 ] && rm -f "$policy"
  # The package keeps its system user on purge (Debian practice); the test
  # does not leave one behind on a machine that had none.
  if [ $user_existed -eq 0 ] && getent passwd turnpike >/dev/null; then
    userdel turnpike 2>/dev/null
    getent group turnpike >/dev/null && groupdel turnpike 2>/dev/null
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

# Where systemd runs, postinst would start the service and bind its ports;
# policy-rc.d makes deb-systemd-invoke skip that. (In a container without
# systemd as PID 1 it is skipped anyway.)
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  created_policy=1
fi

# stat's owner:group mode, e.g. "root:turnpike 640".
owner_mode() { stat -c '%U:%G %a' "$1"; }
expect_owner_mode() {
  local got
  got="$(owner_mode "$1")"
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
  ok "$1 $got"
}

# --- build ---------------------------------------------------------------
deb="${DEB:-}"
if [ -z "$deb" ]; then
  start=$(date +%s)
  "$root/packaging/deb/build.sh" >"$tmp/build.log" 2>&1 || {
    tail -40 "$tmp/build.log"
    fail "packaging/deb/build.sh failed"
  }
  echo "built in $(($(date +%s) - start))s"
  deb="$(ls "$root"/build-deb/turnpike_*.deb)"
fi
[ -f "$deb" ] || fail "no package at $deb"
version="$(dpkg-deb -f "$deb" Version)"
echo "package: $deb ($version)"

# --- lintian -------------------------------------------------------------
# lintian warns that it runs as root; that line is not about the package.
if ! lintian --fail-on error,warning "$deb" >"$tmp/lintian" 2>&1; then
  cat "$tmp/lintian"
  fail "lintian reports errors or warnings"
fi
grep -v 'running with root privileges' "$tmp/lintian" || true
ok "lintian --fail-on error,warning"

# --- install -------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" </dev/null >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"
  fail "dpkg -i"
}
ok "dpkg -i"

expect_owner_mode /usr/bin/turnpike "root:root 755"
"/usr/bin/turnpike" --version | grep -q "${version%%-*}" || fail "turnpike --version is not ${version%%-*}"
if ldd /usr/bin/turnpike | grep -q 'not found'; then
  ldd /usr/bin/turnpike | grep 'not found'
  fail "the binary misses shared libraries (Depends incomplete?)"
fi
expect_owner_mode "$conf" "root:turnpike 640"
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q " $conf " || fail "$conf is not a conffile"
grep -qx '    path: /var/lib/turnpike/turnpike.db' "$conf" || fail "$conf does not put the store in /var/lib/turnpike"
# The service user can read the config, and it is valid.
setpriv --reuid=turnpike --regid=turnpike --init-groups /usr/bin/turnpike --check-config "$conf" \
  >"$tmp/check.log" 2>&1 || { cat "$tmp/check.log"; fail "turnpike --check-config $conf as turnpike"; }
ok "turnpike --check-config as the turnpike user"
expect_owner_mode /etc/turnpike "root:root 755"
expect_owner_mode /var/lib/turnpike "turnpike:turnpike 750"
expect_owner_mode "$unit" "root:root 644"
cmp -s "$unit" "$root/packaging/systemd/turnpike.service" || fail "$unit differs from packaging/systemd/turnpike.service"
[ -L /etc/systemd/system/multi-user.target.wants/turnpike.service ] || fail "the unit is not enabled"
ok "unit installed and enabled"
expect_owner_mode /usr/lib/sysusers.d/turnpike.conf "root:root 644"
expect_owner_mode /usr/share/man/man8/turnpike.8.gz "root:root 644"
zcat /usr/share/man/man8/turnpike.8.gz | grep -q '^\.SH SIGNALS' || fail "man page has no SIGNALS section"
# Every example the repository has is in the package.
examples=/usr/share/doc/turnpike/examples
[ -d "$examples" ] || fail "no $examples"
n=0
for d in grafana prometheus kubernetes; do
  [ -d "$root/packaging/$d" ] || continue
  while IFS= read -r -d '' f; do
    rel="${f#"$root"/packaging/}"
    [ -f "$examples/$rel" ] || fail "example $rel is missing from $examples"
    n=$((n + 1))
  done < <(find "$root/packaging/$d" -type f -print0)
done
[ $n -gt 0 ] || fail "no examples found in packaging/"
ok "$n example files in $examples"

IFS=: read -r _ _ uid _ _ home shell < <(getent passwd turnpike) || fail "no turnpike user"
[ "$shell" = /usr/sbin/nologin ] || fail "turnpike's shell is $shell"
[ "$home" = /var/lib/turnpike ] || fail "turnpike's home is $home"
[ "$uid" -lt 1000 ] || fail "turnpike is not a system user (uid $uid)"
getent group turnpike >/dev/null || fail "no turnpike group"
ok "system user turnpike (uid $uid, $home, $shell)"

# --- the unit --------------------------------------------------------------
out="$(systemd-analyze verify "$unit" 2>&1)" || true
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify printed something"; }
ok "systemd-analyze verify $unit: silent"
line="$(systemd-analyze security --offline=yes "$unit" 2>&1 | grep 'Overall exposure level')" ||
  fail "systemd-analyze security printed no overall exposure level"
echo "$line"
score="$(sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"$line")"
awk -v s="$score" -v m="$max_score" 'BEGIN { exit !(s + 0 <= m + 0) }' ||
  fail "exposure $score is above $max_score"
ok "exposure $score <= $max_score"

# --- the installed binary under the unit's user and capabilities ------------
# As the unit runs it (User=turnpike, only CAP_NET_BIND_SERVICE): binds 443,
# and speaks the notify protocol through start, watchdog, reload and drain.
notify_rc=0
/usr/bin/python3 "$(dirname "$0")/notify_test.py" /usr/bin/turnpike turnpike || notify_rc=$?
case $notify_rc in
  0) ok "installed binary: 443 as turnpike, READY/WATCHDOG/RELOADING/STOPPING" ;;
  77) echo "note: notify_test.py skipped (its SKIP line above says why)" ;;
  *) fail "notify_test.py against the installed binary" ;;
esac

# --- upgrades ----------------------------------------------------------------
# New versions are the same package repacked with a higher version (no
# rebuild); "changed" ones also carry a new default config.
make_version() { # name version change-conffile
  local dir="$tmp/$1"
  rm -rf "$dir"
  dpkg-deb -R "$deb" "$dir"
  sed -i "s/^Version: .*/Version: $2/" "$dir/DEBIAN/control"
  if [ "$3" = changed ]; then
    echo "# new default in $2" >>"$dir$conf"
  fi
  dpkg-deb --root-owner-group -b "$dir" "$tmp/$1.deb" >/dev/null
}
install_quietly() { # deb [dpkg options]
  local deb_file="$1"
  shift
  DEBIAN_FRONTEND=noninteractive dpkg "$@" -i "$deb_file" </dev/null >"$tmp/upgrade.log" 2>&1 || {
    cat "$tmp/upgrade.log"
    fail "dpkg $* -i $deb_file"
  }
}
installed_version() { dpkg-query -W -f='${Version}' "$pkg"; }
edit="# edited by deb_test $$"
echo "$edit" >>"$conf"
echo "state" >/var/lib/turnpike/turnpike.db
chown turnpike:turnpike /var/lib/turnpike/turnpike.db

# (a) The new version ships the same default: dpkg keeps the edit silently.
make_version v2 "$version+t2" same
install_quietly "$tmp/v2.deb"
[ "$(installed_version)" = "$version+t2" ] || fail "upgrade to $version+t2 did not happen"
grep -qx "$edit" "$conf" || fail "(a) the edit was lost"
ls /etc/turnpike/*.dpkg-* >/dev/null 2>&1 && fail "(a) dpkg left $(ls /etc/turnpike/*.dpkg-*)"
expect_owner_mode "$conf" "root:turnpike 640"
grep -qx state /var/lib/turnpike/turnpike.db || fail "(a) the store was touched"
ok "(a) upgrade with an unchanged default keeps the edited conffile"

# (b) A changed default with --force-confold: the edit stays, the new default
# is left beside it as .dpkg-dist.
make_version v3 "$version+t3" changed
install_quietly "$tmp/v3.deb" --force-confdef --force-confold
grep -qx "$edit" "$conf" || fail "(b) the edit was lost"
grep -q "new default in $version+t3" "$conf.dpkg-dist" || fail "(b) no $conf.dpkg-dist"
expect_owner_mode "$conf" "root:turnpike 640"
ok "(b) --force-confold keeps the edit, new default in .dpkg-dist"
rm -f "$conf.dpkg-dist"

# (c) A changed default with --force-confnew: the edit goes to .dpkg-old and
# the new file gets the right owner and mode again (dpkg unpacks it 0644
# root:root; postinst fixes it).
make_version v4 "$version+t4" changed
install_quietly "$tmp/v4.deb" --force-confnew
grep -q "new default in $version+t4" "$conf" || fail "(c) the new default was not installed"
grep -qx "$edit" "$conf.dpkg-old" || fail "(c) the edit is not in $conf.dpkg-old"
expect_owner_mode "$conf" "root:turnpike 640"
ok "(c) --force-confnew installs the new default 0640 root:turnpike, edit in .dpkg-old"

# (d) An admin's dpkg-statoverride wins over postinst's owner and mode.
dpkg-statoverride --update --add root turnpike 0440 "$conf"
override_added=1
install_quietly "$tmp/v4.deb"
expect_owner_mode "$conf" "root:turnpike 440"
dpkg-statoverride --remove "$conf"
override_added=0
ok "(d) dpkg-statoverride is honoured"

# --- remove and purge ------------------------------------------------------------
dpkg -r "$pkg" >"$tmp/remove.log" 2>&1 || { cat "$tmp/remove.log"; fail "dpkg -r"; }
[ ! -e /usr/bin/turnpike ] || fail "remove left /usr/bin/turnpike"
[ ! -e "$unit" ] || fail "remove left $unit"
[ -f "$conf" ] || fail "remove deleted $conf (only purge should)"
[ -f /var/lib/turnpike/turnpike.db ] || fail "remove deleted the store (only purge should)"
ok "remove: binary and unit gone, config and store kept"

dpkg --purge "$pkg" >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "dpkg --purge"; }
for p in /etc/turnpike /var/lib/turnpike /usr/bin/turnpike "$unit" /usr/lib/sysusers.d/turnpike.conf \
  /usr/share/doc/turnpike /usr/share/man/man8/turnpike.8.gz \
  /etc/systemd/system/multi-user.target.wants/turnpike.service; do
  if [ -e "$p" ] || [ -L "$p" ]; then fail "purge left $p"; fi
done
dpkg-query -W "$pkg" >/dev/null 2>&1 && fail "dpkg still knows $pkg after purge"
getent passwd turnpike >/dev/null || fail "purge removed the turnpike user (it should stay)"
ok "purge: config, store, binary, unit and docs gone; the user stays"

echo "PASS: deb_test"
