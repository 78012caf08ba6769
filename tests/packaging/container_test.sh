#!/usr/bin/env bash
# Container image (packaging/container). First what can be checked without a
# container runtime (the Containerfile's promises, the default config), then
# the image built by build.sh and run the way production runs it: read-only
# root, user 10001, only NET_BIND_SERVICE, no-new-privileges, config and TLS
# files mounted read-only. It must answer /livez, /readyz, its HEALTHCHECK
# and a STUN binding, bind 443, fail to bind 443 without the capability, and
# exit 0 on SIGTERM (podman stop) well inside the stop timeout.
#
#   tests/packaging/container_test.sh        # from the repo root, as root
#
# Uses a private podman store in a temporary folder (global podman state is
# untouched) and the root filesystem cached in build-container/. The .deb
# comes from build-deb/ (built with packaging/deb/build.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
C=packaging/container
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

echo "== static checks of $C/Containerfile"
cf=$C/Containerfile
directive() { grep -E "^$1( |$)" "$cf" || true; }
user=$(directive USER | tail -1 | awk '{print $2}')
[ -n "$user" ] || fail "no USER"
case "${user%%:*}" in
  0 | root) fail "USER is root ($user)" ;;
  *[!0-9]*) fail "USER $user is not numeric (Kubernetes runAsNonRoot cannot verify a name)" ;;
esac
[ "$(directive STOPSIGNAL)" = "STOPSIGNAL SIGTERM" ] || fail "STOPSIGNAL is not SIGTERM"
# HEALTHCHECK spans two lines (backslash): read it joined.
hc=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$cf" | grep -E '^HEALTHCHECK ' || true)
[[ $hc == *'"/usr/bin/turnpike", "--probe", "http://127.0.0.1:8088/livez"'* ]] ||
  fail "HEALTHCHECK does not probe /livez through turnpike: $hc"
[ "$(directive ENTRYPOINT)" = 'ENTRYPOINT ["/usr/bin/turnpike"]' ] || fail "ENTRYPOINT is not turnpike"
[ "$(directive CMD)" = 'CMD ["--config", "/etc/turnpike/turnpike.yaml"]' ] || fail "CMD is not --config /etc/turnpike/turnpike.yaml"
[ "$(directive FROM)" = "FROM scratch" ] || fail "FROM is not scratch alone (no registry here): $(directive FROM)"
! grep -Eiq '^(ADD|COPY) .*(https?|ftp)://' "$cf" || fail "ADD/COPY from a URL"
! grep -Eq '^RUN ' "$cf" || fail "a RUN step: the build promises to need no container runtime"
directive VOLUME | grep -q '"/var/lib/turnpike"' || fail "no VOLUME /var/lib/turnpike"
# Every port the default config listens on, and its relay range, is exposed.
expose=" $(directive EXPOSE | cut -d' ' -f2-) "
want=$(/usr/bin/python3 - "$C/turnpike.yaml" <<'EOF'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
port = lambda a: a.rsplit(":", 1)[1]
out = [port(a) + "/udp" for a in c["listen"]["udp"]]
out += [port(a) + "/tcp" for a in c["listen"]["tcp"] + c["listen"]["tls"] + c["api"]["listen"]]
out += [port(c[k]["listen"]) + "/tcp" for k in ("metrics", "control")]
out.append("%d-%d/udp" % (c["relay"]["ports"]["min"], c["relay"]["ports"]["max"]))
print(" ".join(out))
EOF
)
for p in $want; do [[ $expose == *" $p "* ]] || fail "config uses $p but EXPOSE lacks it: $expose"; done
bash -n $C/build.sh
if [ -x build/relay/app/turnpike ]; then
  build/relay/app/turnpike --check-config $C/turnpike.yaml
fi
echo "static checks passed (USER $user, STOPSIGNAL SIGTERM, HEALTHCHECK, exposed: $want)"

echo "== can this machine run the image?"
[ "$(id -u)" -eq 0 ] || skip "not root: the run below needs rootful podman (files owned by uid 10001, nsenter)"
for tool in podman mmdebstrap nsenter openssl; do
  command -v $tool >/dev/null || skip "$tool not found (Debian packages podman mmdebstrap util-linux openssl)"
done

tmp=$(mktemp -d /tmp/turnpike-container.XXXXXX)
# Own store and state; no systemd here, so cgroupfs and a file event log.
P=(podman --root "$tmp/store" --runroot "$tmp/run" --storage-driver "${STORAGE_DRIVER:-overlay}"
   --cgroup-manager cgroupfs --events-backend file)
cleanup() {
  "${P[@]}" rm -f -t 0 tp tp-nocap >/dev/null 2>&1 || true
  "${P[@]}" rmi -a -f >/dev/null 2>&1 || true
  # Whatever the storage driver left mounted in the store, then the folder
  # (--one-file-system: never into a mount that is still there).
  awk -v t="$tmp/" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
# podman without systemd logs each healthcheck timer it cannot make; noise.
quiet() { grep -v 'unable to get systemd connection' || true; }

if ! ls build-deb/turnpike_*.deb >/dev/null 2>&1; then
  echo "no build-deb/turnpike_*.deb: building it (packaging/deb/build.sh, log in $tmp/deb.log)"
  packaging/deb/build.sh >"$tmp/deb.log" 2>&1 || { tail -20 "$tmp/deb.log"; fail "packaging/deb/build.sh failed"; }
fi
start=$(date +%s)
PODMAN_OPTS="${P[*]:1}" $C/build.sh >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; fail "build.sh failed"; }
grep -E '^container/build.sh:|^localhost/' "$tmp/build.log"
echo "image built in $(($(date +%s) - start))s"
image=$(tail -1 "$tmp/build.log" | cut -d' ' -f1)
[ "$("${P[@]}" image inspect --format '{{.Config.User}}' "$image")" = 10001:10001 ] || fail "image user is not 10001:10001"

# Rootful podman asks for RLIMIT_NOFILE 1048576 and RLIMIT_NPROC 4194304;
# without CAP_SYS_RESOURCE above a lower hard limit (sandboxes) the runtime's
# setrlimit fails, so ask for what this shell is allowed.
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
# crun refuses hybrid cgroups with a controller on cgroup v2 (some VMs);
# runc copes. Try the default runtime, then runc (RUNTIMES overrides).
runtime=()
found=0
errors=""
for rt in ${RUNTIMES:-default runc}; do
  opt=(); [ "$rt" = default ] || opt=(--runtime "$rt")
  if [ "$rt" != default ] && ! command -v "$rt" >/dev/null; then errors+=" [$rt: not installed]"; continue; fi
  if out=$("${P[@]}" "${opt[@]}" run --rm --network none "${limits[@]}" --entrypoint /usr/bin/turnpike \
      "$image" --version 2>&1); then
    runtime=("${opt[@]}"); found=1; echo "runtime: $rt ($(quiet <<<"$out"))"; break
  fi
  errors+=" [$rt: $(echo "$out" | quiet | tail -1)]"
done
[ $found = 1 ] || skip "podman cannot run a container here:$errors"

echo "== run it as in production"
# Mounted files: readable by group 10001 only, as Kubernetes' fsGroup does.
mkdir -p "$tmp/etc" "$tmp/tls" "$tmp/state"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=turnpike-container-test -keyout "$tmp/tls/tls.key" -out "$tmp/tls/tls.crt" 2>/dev/null
# The image's default config, changed only where a test must: the mounted
# certificate, an extra TLS listener on 443, and a relay address (the
# container has no network but loopback).
/usr/bin/python3 - "$C/turnpike.yaml" "$tmp/etc/turnpike.yaml" <<'EOF'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
c["tls"].update(certificate="/etc/turnpike/tls/tls.crt", private_key="/etc/turnpike/tls/tls.key")
c["listen"]["tls"].append("0.0.0.0:443")
c["relay"]["addresses"] = [{"bind": "127.0.0.1", "external": "192.0.2.10"}]
c["auth"]["rest_secrets"] = ["container-test-secret-0123456789"]
yaml.safe_dump(c, open(sys.argv[2], "w"))
EOF
chown -R root:10001 "$tmp/etc" "$tmp/tls"
chmod 0750 "$tmp/etc" "$tmp/tls"
chmod 0640 "$tmp/etc/turnpike.yaml" "$tmp/tls/tls.key" "$tmp/tls/tls.crt"
# Two state volumes: SQLite is single-writer, and the second run below
# overlaps the first.
mkdir -p "$tmp/state-nocap"
chown 10001:10001 "$tmp/state" "$tmp/state-nocap"
chmod 0750 "$tmp/state" "$tmp/state-nocap"

# --network none: a network namespace of its own, so the default ports
# (and the image's HEALTHCHECK on 127.0.0.1:8088 as is) clash with nothing;
# the checks below enter that namespace with nsenter.
run_opts=(--network none --read-only --user turnpike --cap-drop ALL --security-opt no-new-privileges
  "${limits[@]}" -v "$tmp/etc/turnpike.yaml:/etc/turnpike/turnpike.yaml:ro"
  -v "$tmp/tls:/etc/turnpike/tls:ro")
"${P[@]}" "${runtime[@]}" run -d --name tp --cap-add NET_BIND_SERVICE "${run_opts[@]}" \
  -v "$tmp/state:/var/lib/turnpike" "$image" >/dev/null 2>"$tmp/run.err" ||
  { quiet <"$tmp/run.err"; fail "podman run failed"; }
pid=$("${P[@]}" inspect --format '{{.State.Pid}}' tp)
[ "$pid" -gt 0 ] || { "${P[@]}" logs tp 2>&1 | tail -20; fail "container tp is not running"; }

status=$(grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' "/proc/$pid/status" | tr -s '\t' ' ' | paste -sd' ')
echo "process: $status"
[[ $status == *"Uid: 10001 10001 10001 10001"* ]] || fail "not running as uid 10001"
[[ $status == *"CapEff: 0000000000000400"* && $status == *"CapBnd: 0000000000000400"* ]] ||
  fail "capabilities are not NET_BIND_SERVICE alone"
[[ $status == *"NoNewPrivs: 1"* ]] || fail "no-new-privileges is off"
[ "$("${P[@]}" inspect --format '{{.HostConfig.ReadonlyRootfs}}' tp)" = true ] || fail "root filesystem is writable"
if "${P[@]}" exec tp /bin/sh -c 'echo x >/usr/bin/x' 2>/dev/null; then fail "wrote into /usr/bin"; fi

# One client inside the container's network namespace: probes, metrics, a
# STUN binding over UDP and TCP, and TLS on 443 with the mounted certificate.
nsenter --net="/proc/$pid/ns/net" /usr/bin/python3 - "$tmp/tls/tls.crt" <<'EOF' || { "${P[@]}" logs tp 2>&1 | tail -20; fail "client checks"; }
import os, socket, ssl, struct, sys, time, urllib.request

def get(path, port=8088):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError as e:
        return None, str(e)

deadline = time.time() + 30
while get("/livez")[0] != 200:
    if time.time() > deadline:
        sys.exit("FAIL: /livez did not answer 200 within 30s: %s" % (get("/livez"),))
    time.sleep(0.3)
for path in ("/livez", "/readyz"):
    code = get(path)[0]
    print(f"GET {path}: {code}")
    if code != 200:
        sys.exit(f"FAIL: {path} answered {code}")
code, body = get("/metrics", 9641)
if code != 200 or "turnpike_build_info" not in body:
    sys.exit(f"FAIL: /metrics answered {code} without turnpike_build_info")
print("GET :9641/metrics: 200, turnpike_build_info present")

def binding(sock, send, recv):
    tid = os.urandom(12)
    send(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid)
    data = recv()
    kind, length, cookie = struct.unpack("!HHI", data[:8])
    if kind != 0x0101 or cookie != 0x2112A442 or data[8:20] != tid:
        sys.exit(f"FAIL: not a Binding success response: type {kind:#06x}")
    at = 20
    while at < 20 + length:  # find XOR-MAPPED-ADDRESS (0x0020)
        atype, alen = struct.unpack("!HH", data[at:at + 4])
        if atype == 0x0020:
            xport = struct.unpack("!H", data[at + 6:at + 8])[0] ^ 0x2112
            return xport
        at += 4 + (alen + 3) // 4 * 4
    sys.exit("FAIL: no XOR-MAPPED-ADDRESS")

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
u.connect(("127.0.0.1", 3478))
port = binding(u, u.send, lambda: u.recv(2048))
if port != u.getsockname()[1]:
    sys.exit(f"FAIL: UDP binding mapped port {port}, expected {u.getsockname()[1]}")
print(f"STUN binding over UDP: XOR-MAPPED-ADDRESS port {port} (ours)")
t = socket.create_connection(("127.0.0.1", 3478), timeout=3)
port = binding(t, t.sendall, lambda: t.recv(2048))
if port != t.getsockname()[1]:
    sys.exit(f"FAIL: TCP binding mapped port {port}, expected {t.getsockname()[1]}")
print(f"STUN binding over TCP: XOR-MAPPED-ADDRESS port {port} (ours)")

ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.check_hostname = False
with socket.create_connection(("127.0.0.1", 443), timeout=3) as raw:
    with ctx.wrap_socket(raw) as tls:
        print(f"TLS on 443 as uid 10001: {tls.version()}, mounted certificate verified")
EOF

out=$("${P[@]}" healthcheck run tp 2>&1 | quiet) || fail "podman healthcheck run: $out"
health=$("${P[@]}" inspect --format '{{.State.Health.Status}}' tp)
[ "$health" = healthy ] || fail "health status is $health"
echo "podman healthcheck run: exit 0, status $health"

echo "== without NET_BIND_SERVICE, 443 must be refused"
"${P[@]}" "${runtime[@]}" run -d --name tp-nocap "${run_opts[@]}" \
  -v "$tmp/state-nocap:/var/lib/turnpike" "$image" >/dev/null 2>"$tmp/run.err" ||
  { quiet <"$tmp/run.err"; fail "podman run (no capability) failed"; }
state=""
for _ in $(seq 1 40); do
  state=$("${P[@]}" inspect --format '{{.State.Status}}' tp-nocap 2>/dev/null || echo gone)
  case $state in running | created | configured | initialized) sleep 0.5 ;; *) break ;; esac
done
log=$("${P[@]}" logs tp-nocap 2>&1 | quiet)
code=$("${P[@]}" inspect --format '{{.State.ExitCode}}' tp-nocap 2>/dev/null || echo none)
# podman 4.3 reports a container that exited on its own as exited or stopped.
[[ $state == exited || $state == stopped ]] && [ "$code" != 0 ] ||
  fail "without the capability it did not fail (state $state, exit $code): $(tail -3 <<<"$log")"
grep -q 'bind: Permission denied on 0.0.0.0:443' <<<"$log" ||
  fail "without the capability it failed, but not on 443: $(tail -3 <<<"$log")"
echo "refused as expected (exit $code): $(grep -m1 443 <<<"$log")"

echo "== podman stop: SIGTERM drains and exits 0"
t0=$(date +%s%N)
"${P[@]}" stop -t 30 tp 2>&1 | quiet >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
code=$("${P[@]}" inspect --format '{{.State.ExitCode}}' tp)
log=$("${P[@]}" logs tp 2>&1 | quiet)
grep -E 'signal 15|drain' <<<"$log" | head -3
grep -q 'signal 15: draining' <<<"$log" || fail "no 'signal 15: draining' in the log: the stop signal was not SIGTERM"
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
[ "$ms" -lt 25000 ] || fail "stop took ${ms}ms: the runtime's 30s timeout was nearly reached"
[ -s "$tmp/state/turnpike.db" ] && [ "$(stat -c %u "$tmp/state/turnpike.db")" = 10001 ] ||
  fail "no turnpike.db owned by 10001 in the state volume"
echo "stopped in ${ms}ms, exit 0; state volume holds turnpike.db (uid 10001)"
echo "image: $("${P[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image")"
echo "PASS: container image"
