#!/usr/bin/env bash
# The Debian package under a real systemd: boots Debian 12 with systemd as
# PID 1 in a podman container, installs the .deb with dpkg -i (its Depends
# must be met by a minimal system holding just those packages), and checks
# that the shipped unit works as written: Type=notify start with a status
# text, the sandbox really applied (own mount namespace, read-only /,
# ProcSubset=pid, seccomp, no-new-privileges, user turnpike with
# CAP_NET_BIND_SERVICE only), journal priorities, a STUN binding, reload,
# the watchdog over 40 s, a clean stop on SIGTERM, and then the fast path
# drop-in the unit's comment gives (the eBPF program loads under it).
#
#   tests/packaging/systemd_boot_test.sh     # from the repo root, as root
#
# DEB=path picks the .deb (default: the newest build-deb/turnpike_*.deb).
# CACHE=dir keeps the root filesystem tar there between runs (mmdebstrap
# takes about a minute); by default it lives in the temporary folder.
# The podman store is private to the run, in /tmp, and removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
t_start=$(date +%s)

[ "$(id -u)" -eq 0 ] || skip "not root: systemd in a container needs rootful podman"
for tool in podman mmdebstrap dpkg-deb sha256sum timeout; do
  command -v $tool >/dev/null || skip "$tool not found (Debian packages podman mmdebstrap dpkg coreutils)"
done
deb="${DEB:-$(ls -1t build-deb/turnpike_*.deb 2>/dev/null | head -1 || true)}"
[ -n "$deb" ] && [ -f "$deb" ] || fail "no .deb: run packaging/deb/build.sh first, or set DEB=path"
echo "package: $deb"

tmp=$(mktemp -d /tmp/turnpike-systemd.XXXXXX)
name=tp-systemd
P=(podman --root "$tmp/store" --runroot "$tmp/run" --storage-driver "${STORAGE_DRIVER:-overlay}"
   --cgroup-manager cgroupfs --events-backend file)
cleanup() {
  timeout 60 "${P[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
  timeout 60 "${P[@]}" rmi -a -f >/dev/null 2>&1 || true
  # Mounts the storage driver left in the store, deepest first, then the
  # folder (--one-file-system: never into a mount still there).
  awk -v t="$tmp/" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
# Every command inside the container is bounded.
X() { timeout 60 "${P[@]}" exec "$name" "$@"; }
Xi() { timeout 60 "${P[@]}" exec -i "$name" "$@"; }  # with stdin
prop() { X systemctl show -p "$1" --value turnpike; }

echo "== root filesystem: bookworm, systemd, the package's Depends"
# The first choice of each alternative and no versions: the mirror's
# bookworm versions meet them. python3-minimal is the STUN client below.
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' |
  grep -v '^$' | sort -u | paste -sd, -)
pkgs="$deps,systemd,systemd-sysv,dbus,python3-minimal,iproute2"
# shellcheck disable=SC2016  # $1 is the root filesystem, expanded by mmdebstrap
mm=(--variant=essential --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "--include=$pkgs"
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' bookworm)
cache="${CACHE:-$tmp}"
mkdir -p "$cache"
rootfs="$cache/systemd-rootfs-$(printf '%s\n' "${mm[@]}" | sha256sum | cut -c1-16).tar"
if [ ! -s "$rootfs" ]; then
  t0=$(date +%s)
  nice -n 10 mmdebstrap --quiet --format=tar "${mm[@]}" "$rootfs.part" >"$tmp/mm.log" 2>&1 ||
    { tail -5 "$tmp/mm.log"; skip "mmdebstrap bookworm failed (no Debian mirror reachable through apt?)"; }
  mv "$rootfs.part" "$rootfs"
  echo "mmdebstrap took $(($(date +%s) - t0))s"
fi
timeout 300 "${P[@]}" import --change 'CMD ["/sbin/init"]' "$rootfs" localhost/turnpike-systemd:test >"$tmp/import.log" 2>&1 ||
  { tail -3 "$tmp/import.log"; fail "podman import failed"; }

echo "== boot systemd as PID 1"
# Rootful podman asks for rlimits above a sandbox's hard limits; ask for
# what this shell has. CAP_SYS_ADMIN lets systemd make the unit's mount
# namespace: without it systemd 252 only logs (at debug level) "Failed to
# set up namespace, assuming containerized execution and ignoring" and runs
# the service with no ProtectSystem/PrivateTmp/ProcSubset at all. The
# container has a network namespace of its own with nothing in it
# (--network none: no bridge, no iptables rules on the host); CAP_NET_ADMIN
# lets the test give it an interface below.
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
# CAP_BPF and CAP_PERFMON are for the fast path drop-in at the end: the
# unit's own bounding set keeps them from the service until then.
run_opts=(-d --name "$name" --systemd=always --network none --cap-add SYS_ADMIN
  --cap-add NET_ADMIN --cap-add BPF --cap-add PERFMON --ulimit "nofile=$nofile:$nofile"
  --ulimit nproc=4096:4096)
errors=""
booted=0
for rt in ${RUNTIMES:-default runc}; do
  opt=(); [ "$rt" = default ] || opt=(--runtime "$rt")
  if [ "$rt" != default ] && ! command -v "$rt" >/dev/null; then errors+=" [$rt: not installed]"; continue; fi
  if ! out=$(timeout 120 "${P[@]}" "${opt[@]}" run "${run_opts[@]}" localhost/turnpike-systemd:test /sbin/init 2>&1); then
    errors+=" [$rt: $(tail -1 <<<"$out")]"
    timeout 60 "${P[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
    continue
  fi
  state=""
  for _ in $(seq 1 60); do
    state=$(X systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 1
  done
  if [[ $state == running || $state == degraded ]]; then booted=1; echo "runtime: $rt, system $state"; break; fi
  errors+=" [$rt: system state '$state' after 60s: $(timeout 30 "${P[@]}" logs "$name" 2>&1 | tail -2 | paste -sd' ')]"
  timeout 60 "${P[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
done
[ $booted = 1 ] || skip "systemd does not boot in a podman container here:$errors"
[ "$state" = running ] || echo "failed units before install: $(X systemctl --failed --no-legend --plain | paste -sd' ')"

echo "== install the package and start the unit"
# A non-loopback address inside the container's own namespace, for the
# shipped config (relay.addresses empty: the host's first IPv4 address).
# (A veth pair: some kernels have no dummy driver.)
X ip link add tp0 type veth peer name tp1 && X ip addr add 192.0.2.10/24 dev tp0 &&
  X ip link set tp0 up && X ip link set tp1 up || fail "cannot add a veth pair in the container"
timeout 60 "${P[@]}" cp "$deb" "$name:/tmp/turnpike.deb"
X dpkg -i /tmp/turnpike.deb >"$tmp/dpkg.log" 2>&1 || { tail -10 "$tmp/dpkg.log"; fail "dpkg -i failed"; }
X systemctl start turnpike || { X journalctl -u turnpike -n 20 --no-pager; fail "systemctl start failed"; }
t_active=$(date +%s)
[ "$(X systemctl is-active turnpike)" = active ] || fail "not active after start"
status=$(prop StatusText)
pid=$(prop MainPID)
echo "active: MainPID=$pid StatusText='$status' NRestarts=$(prop NRestarts) WatchdogUSec=$(prop WatchdogUSec)"
[[ $status == serving* ]] || fail "StatusText is '$status', not the server's 'serving'"
[ "$(prop NRestarts)" = 0 ] || fail "restarted during start-up"
[ "$(prop WatchdogUSec)" = 30s ] || fail "watchdog is not 30s"

echo "== the sandbox as the kernel sees it"
cpid=$(timeout 30 "${P[@]}" inspect --format '{{.State.Pid}}' "$name")
# The service's process on the host: same pid namespace as the container's
# PID 1, and MainPID ($1) as its innermost pid.
host_pid() {
  local p
  for p in $(pgrep -x turnpike || true); do
    [ "$(readlink "/proc/$p/ns/pid")" = "$(readlink "/proc/$cpid/ns/pid")" ] &&
      [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status")" = "$1" ] && echo "$p"
  done
  return 0
}
hpid=$(host_pid "$pid")
[ -n "$hpid" ] || fail "no host process for MainPID $pid"
st=$(grep -E '^(Uid|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$hpid/status" | tr -s '\t' ' ' | paste -sd' ')
echo "process: $st"
uid=$(X id -u turnpike)
[[ $st == *"Uid: $uid $uid $uid $uid"* ]] || fail "not running as user turnpike (uid $uid)"
[[ $st == *"CapEff: 0000000000000400"* && $st == *"CapBnd: 0000000000000400"* ]] ||
  fail "capabilities are not CAP_NET_BIND_SERVICE alone"
[[ $st == *"NoNewPrivs: 1"* && $st == *"Seccomp: 2"* ]] || fail "no-new-privileges or the seccomp filter is off"
[ "$(readlink "/proc/$hpid/ns/mnt")" != "$(readlink "/proc/$cpid/ns/mnt")" ] ||
  fail "the service shares PID 1's mount namespace: ProtectSystem, PrivateTmp etc. were not applied"
mounts=$(awk '{print $5, $6}' "/proc/$hpid/mountinfo")
grep -Eq '^/ ro,' <<<"$mounts" || fail "/ is writable for the service (ProtectSystem=strict)"
grep -Eq '^/var/lib/turnpike rw,' <<<"$mounts" || fail "StateDirectory /var/lib/turnpike is not writable"
grep -Eq '^/home ro,' <<<"$mounts" || fail "/home is not hidden (ProtectHome)"
# Seen from here /proc/self is not in that proc mount; its own pid is.
[ ! -e "/proc/$hpid/root/proc/cpuinfo" ] && [ -e "/proc/$hpid/root/proc/$pid/stat" ] ||
  fail "the service's /proc is not ProcSubset=pid with its own pid kept"
lim=$(awk '/^Max open files/ {print $4 "/" $5}' "/proc/$hpid/limits")
echo "mount namespace of its own, / read-only, /home hidden, /proc subset=pid; open files $lim (unit: 65536, container hard limit: $nofile)"
if [ "$nofile" -ge 65536 ] && [ "$lim" != 65536/65536 ]; then fail "LimitNOFILE=65536 not applied: $lim"; fi

echo "== journal"
# stderr through JOURNAL_STREAM: a priority per line, no timestamp prefix
# (each message starts with its level word).
X journalctl _PID="$pid" -o cat --no-pager >"$tmp/all.log"
X journalctl _PID="$pid" -p 6..6 -o cat --no-pager >"$tmp/info.log"
X journalctl _PID="$pid" -p 0..5 -o cat --no-pager >"$tmp/warn.log"
head -3 "$tmp/all.log"
grep -q '^info listening on udp 0.0.0.0:3478$' "$tmp/info.log" || fail "no 'listening on udp' line at priority info"
! grep -q '^info ' "$tmp/warn.log" || fail "info lines logged at warning priority or above"
bad=$(grep -Ev '^(trace|debug|info|warning|error|critical) ' "$tmp/all.log" || true)
[ -z "$bad" ] || fail "lines without the level word first (a timestamp?): $(head -2 <<<"$bad")"
echo "priorities: $(wc -l <"$tmp/info.log") info, $(wc -l <"$tmp/warn.log") warning or above; no timestamps"

echo "== STUN binding inside the container"
Xi python3 - <<'EOF' || fail "STUN binding"
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("127.0.0.1", 3478))
tid = os.urandom(12)
s.send(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid)
d = s.recv(2048)
kind, length, cookie = struct.unpack("!HHI", d[:8])
if kind != 0x0101 or cookie != 0x2112A442 or d[8:20] != tid:
    sys.exit("FAIL: not a Binding success response: type %#06x" % kind)
print("STUN binding over UDP 127.0.0.1:3478: success response")
EOF

echo "== systemctl reload"
if ! X systemctl reload turnpike; then
  X journalctl -u turnpike -n 6 --no-pager -o cat
  fail "systemctl reload failed"
fi
ok=0
for _ in $(seq 1 20); do
  X journalctl _PID="$pid" -o cat --no-pager | grep -q 'SIGHUP: reloading' && { ok=1; break; }
  sleep 0.5
done
[ $ok = 1 ] || fail "no 'SIGHUP: reloading' in the journal"
[ "$(prop MainPID)" = "$pid" ] || fail "reload replaced the process"
echo "reloaded: StatusText='$(prop StatusText)'"

echo "== watchdog: 40s without a restart"
wd1=$(prop WatchdogTimestampMonotonic)
left=$((t_active + 40 - $(date +%s)))
[ "$left" -le 0 ] || sleep "$left"
wd2=$(prop WatchdogTimestampMonotonic)
[ "$(X systemctl is-active turnpike)" = active ] && [ "$(prop MainPID)" = "$pid" ] &&
  [ "$(prop NRestarts)" = 0 ] || fail "the watchdog (or something) restarted it: $(X journalctl -u turnpike -n 5 --no-pager -o cat)"
[ "$wd2" -gt "$wd1" ] || fail "no WATCHDOG=1 received in the last $left s"
echo "still pid $pid, NRestarts 0, last WATCHDOG=1 $(((wd2 - wd1) / 1000000))s after the first check"

echo "== systemctl stop: SIGTERM drains, exits 0"
t0=$(date +%s%N)
X systemctl stop turnpike || fail "systemctl stop failed"
ms=$((($(date +%s%N) - t0) / 1000000))
result=$(prop Result) code=$(prop ExecMainStatus)
echo "stopped in ${ms}ms: Result=$result ExecMainStatus=$code"
X journalctl _PID="$pid" -o cat --no-pager | grep -q '^info signal 15: draining' || fail "no 'signal 15: draining' line"
[ "$result" = success ] && [ "$code" = 0 ] || fail "stop did not end cleanly"
[ "$ms" -lt 10000 ] || fail "stop took ${ms}ms with no allocation open"
echo "== the fast path drop-in, as the unit's comment gives it"
# Taken from the shipped unit's comment, so the comment cannot go stale
# unnoticed: the lines after "a drop-in", without their "#   ".
dropin=$(X sed -n '/^# (systemctl edit turnpike) adds/,/^[^#]/ s/^#   //p' /lib/systemd/system/turnpike.service)
[[ $dropin == *"[Service]"*"CAP_BPF"*"SystemCallFilter=bpf"* ]] ||
  fail "no drop-in in the unit's comment: '$dropin'"
X mkdir -p /etc/systemd/system/turnpike.service.d
Xi sh -c 'cat > /etc/systemd/system/turnpike.service.d/fast-path.conf' <<<"$dropin"
# For a channel below: a REST secret, and the documentation range the
# client and peer use allowed as peers (refused by default).
X sed -i -e 's/^  rest_secrets: \[\]$/  rest_secrets: ["systemd-test-secret"]/' \
  -e '/^    allow_loopback: false$/{n;s|^    allow: \[\]$|    allow: ["192.0.2.0/24"]|}' \
  /etc/turnpike/turnpike.yaml
X grep -q 'allow: \["192.0.2.0/24"\]' /etc/turnpike/turnpike.yaml &&
  X grep -q 'rest_secrets: \["systemd-test-secret"\]' /etc/turnpike/turnpike.yaml ||
  fail "could not set a REST secret and a peer range in /etc/turnpike/turnpike.yaml"
X systemctl daemon-reload
X systemctl start turnpike || { X journalctl -u turnpike -n 20 --no-pager; fail "start with the drop-in failed"; }
[ "$(X systemctl is-active turnpike)" = active ] || fail "not active with the drop-in"
pid=$(prop MainPID)
ok=0
for _ in $(seq 1 20); do
  X journalctl _PID="$pid" -o cat --no-pager >"$tmp/fp.log"
  grep -q '^info fast path: on' "$tmp/fp.log" && { ok=1; break; }
  grep -q 'fast path: off' "$tmp/fp.log" && break
  sleep 0.5
done
[ $ok = 1 ] || fail "the fast path did not load under the drop-in: $(grep 'fast path' "$tmp/fp.log")"
hpid=$(host_pid "$pid")
[ -n "$hpid" ] || fail "no host process for MainPID $pid"
st=$(grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' "/proc/$hpid/status" | tr -s '\t' ' ' | paste -sd' ')
echo "process: $st"
# CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39);
# still user turnpike, still no-new-privileges and the seccomp filter.
[[ $st == *"CapEff: 000000c000001400"* && $st == *"Uid: $uid $uid $uid $uid"* &&
  $st == *"NoNewPrivs: 1"* && $st == *"Seccomp: 2"* ]] ||
  fail "the drop-in's capabilities or the sandbox are not as written"
echo "$(grep '^info fast path: on' "$tmp/fp.log" | head -1)"

echo "== a channel relayed in the kernel, under the unit's sandbox"
# The client and the peer live in a network namespace of their own across
# the veth pair, so ChannelData arrives on tp0 and the service must attach
# its TC program there (rtnetlink and tc netlink under the unit's
# RestrictAddressFamilies and syscall filter), not only load it.
X ip netns add tpc && X ip link set tp1 netns tpc &&
  X ip netns exec tpc ip addr add 192.0.2.20/24 dev tp1 &&
  X ip netns exec tpc ip addr add 192.0.2.30/24 dev tp1 &&
  X ip netns exec tpc ip link set tp1 up && X ip link set tp0 up ||
  fail "cannot make the client's namespace"
# The container has python3-minimal only: the client and the scrapes run
# here, entering the container's namespaces.
in_tpc=(timeout 60 nsenter --net="/proc/$cpid/root/run/netns/tpc")
in_container=(timeout 30 nsenter --net="/proc/$cpid/ns/net")
# Checksums computed on the way out, not offloaded: a datagram sent over a
# veth with offload on arrives CHECKSUM_PARTIAL, which the program leaves to
# user space (what comes in from a NIC is complete).
"${in_tpc[@]}" ethtool -K tp1 tx off >/dev/null || fail "ethtool -K tp1 tx off"
# A sample from the service's /metrics (the shipped config: 0.0.0.0:9641).
metric() {
  "${in_container[@]}" python3 -c 'import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9641/metrics", timeout=5).read().decode()
print(next((l.split()[1] for l in body.splitlines() if l.startswith(sys.argv[1] + " ")), "0"))' "$1"
}
kernel_counts() {
  echo "$(metric 'turnpike_fast_path_packets_total{verdict="relayed_to_peer"}')" \
    "$(metric 'turnpike_fast_path_packets_total{verdict="relayed_to_client"}')"
}
before=$(kernel_counts)
"${in_tpc[@]}" python3 - >"$tmp/channel.log" 2>&1 <<'EOF' || { cat "$tmp/channel.log"; fail "the channel did not relay"; }
import socket, sys, time
sys.path.insert(0, "tests/fastpath")
from turn_udp import Client, channel_data, rest_credentials
N, SERVER = 200, ("192.0.2.10", 3478)
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.bind(("192.0.2.20", 0))
peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
peer.bind(("192.0.2.30", 0))
turn = Client(client, SERVER, *rest_credentials("systemd-test-secret", "alice"))
relayed = tuple(turn.allocate())
turn.channel_bind(0x4000, peer.getsockname())

def receive(sock, n):
    got, deadline = [], time.monotonic() + 5
    while len(got) < n and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(2048))
        except socket.timeout:
            break
    return got

payloads = [bytes([i]) * 160 for i in range(N)]
for p in payloads:
    client.sendto(channel_data(0x4000, p), SERVER)
    time.sleep(0.001)
at_peer = receive(peer, N)
for p in payloads:
    peer.sendto(p, relayed)
    time.sleep(0.001)
back = [d[4:] for d in receive(client, N) if d[:2] == b"\x40\x00"]
print(f"relayed address {relayed}: the peer got {len(at_peer)}/{N}, the client {len(back)}/{N}")
turn.refresh(0)  # deleted, so the stop below has no call to drain
sys.exit(0 if at_peer == payloads and back == payloads else 1)
EOF
cat "$tmp/channel.log"
# Workers publish their counts about once a second.
ok=0
for _ in $(seq 1 20); do
  after=$(kernel_counts)
  python3 -c 'import sys; b, a = map(float, sys.argv[1].split()), map(float, sys.argv[2].split())
sys.exit(0 if [y - x for x, y in zip(b, a)] == [200.0, 200.0] else 1)' "$before" "$after" &&
    { ok=1; break; }
  sleep 0.5
done
echo "the kernel's relayed_to_peer and relayed_to_client: $before -> $after"
[ $ok = 1 ] || "${in_container[@]}" python3 -c 'import urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9641/metrics", timeout=5).read().decode()
print("\n".join(l for l in body.splitlines() if "fast_path" in l and not l.startswith("#")))'
[ $ok = 1 ] ||
  fail "the kernel did not relay all 200 datagrams each way (tc on tp0: $(X tc filter show dev tp0 ingress 2>&1 | head -2 | paste -sd' '))"
X systemctl stop turnpike || fail "stop with the drop-in failed"
[ "$(prop Result)" = success ] || fail "stop with the drop-in did not end cleanly"

echo "PASS: systemd unit under a real systemd ($(($(date +%s) - t_start))s)"
