#!/usr/bin/env bash
# Kubernetes manifests (packaging/kubernetes): yamllint on the sources and on
# what `kubectl kustomize` renders, the generated relay-port list is current,
# check.py's assertions on every layout, and the preStop hook run for real
# against turnpike as PID 1 of its own PID namespace.
#
#   tests/packaging/kubernetes_test.sh            # from the repo root
#   KUBECTL=/path/to/kubectl tests/packaging/kubernetes_test.sh
#   TURNPIKE=/path/to/turnpike ...                # else build/relay/app/turnpike
set -euo pipefail
cd "$(dirname "$0")/../.."
K=packaging/kubernetes
KUBECTL=${KUBECTL:-kubectl}
export KUBECTL

skip() { echo "SKIP: $*"; exit 77; }
command -v "$KUBECTL" >/dev/null || skip "$KUBECTL not found (Debian package kubernetes-client)"
command -v yamllint >/dev/null || skip "yamllint not found (Debian package yamllint)"
/usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== yamllint $K"
yamllint -s -c "$K/.yamllint" "$K"

echo "== relay ports of the loadbalancer Service"
/usr/bin/python3 "$K/gen-relay-ports.py" --check

echo "== render with $KUBECTL ($("$KUBECTL" version --client 2>/dev/null | head -1))"
for layout in base overlays/hostnetwork overlays/loadbalancer; do
  out="$tmp/$(basename "$layout").yaml"
  "$KUBECTL" kustomize "$K/$layout" >"$out" 2>"$tmp/stderr"
  sed "s|^|  $KUBECTL says: |" "$tmp/stderr"
  # kubectl's own layout: unindented lists, long base64 lines.
  yamllint -s -d '{extends: default, rules: {line-length: disable,
    indentation: {indent-sequences: whatever}, document-start: disable}}' "$out"
  echo "rendered $layout: $(grep -c '^kind:' "$out") objects, yamllint clean"
done

echo "== check.py"
/usr/bin/python3 "$K/check.py" base hostnetwork loadbalancer extras

echo "== preStop hook against turnpike as PID 1"
bin=${TURNPIKE:-build/relay/app/turnpike}
if [ ! -x "$bin" ]; then
  echo "SKIP (preStop run only): no turnpike binary at $bin (build first or set TURNPIKE)"
  exit 0
fi
# A new PID namespace needs root, or an unprivileged user namespace.
# --kill-child: turnpike dies with unshare if the test has to give up.
ns=(unshare --pid --fork --kill-child)
[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --pid --fork --kill-child)
if ! "${ns[@]}" true 2>/dev/null; then
  echo "SKIP (preStop run only): cannot create a PID namespace here (${ns[*]})"
  exit 0
fi
# The hook exactly as rendered for the base Deployment.
hook=$(/usr/bin/python3 - "$tmp/base.yaml" <<'EOF'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Deployment":
        c = d["spec"]["template"]["spec"]["containers"][0]
        print(c["lifecycle"]["preStop"]["exec"]["command"][2])
EOF
)
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/turnpike.yaml" <<EOF
listen: {udp: ["127.0.0.1:0"], tcp: ["127.0.0.1:0"], tls: []}
metrics: {listen: "127.0.0.1:0"}
control: {listen: "127.0.0.1:$port"}
api: {listen: []}
drain: {deadline: 20s}
store: {sqlite: {path: $tmp/turnpike.db}}
EOF
"${ns[@]}" "$bin" --config "$tmp/turnpike.yaml" >"$tmp/turnpike.log" 2>&1 &
outer=$!
pids+=("$outer")
ok=""
for _ in $(seq 50); do
  if curl -fs -m 1 -o /dev/null "http://127.0.0.1:$port/livez"; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || { cat "$tmp/turnpike.log"; echo "FAIL: turnpike never answered /livez"; exit 1; }
# unshare --fork: turnpike is unshare's child, and PID 1 inside.
inner=$(cat "/proc/$outer/task/$outer/children" 2>/dev/null || pgrep -P "$outer")
inner=${inner%% *}
enter=(nsenter --target "$inner" --pid)
[ "$(id -u)" -eq 0 ] || enter=(nsenter --target "$inner" --user --pid --preserve-credentials)
start=$SECONDS
set +e
# In the background, so bash does not report the hook's SIGKILL as news.
timeout 60 "${enter[@]}" /bin/sh -c "$hook" &
wait $! 2>/dev/null
hook_rc=$?
for _ in $(seq 30); do kill -0 "$outer" 2>/dev/null || break; sleep 1; done
if kill -0 "$outer" 2>/dev/null; then
  cat "$tmp/turnpike.log"; echo "FAIL: turnpike still running 30s after the preStop hook"; exit 1
fi
wait "$outer"
turnpike_rc=$?
set -e
echo "preStop returned $hook_rc after $((SECONDS - start))s; turnpike exited $turnpike_rc"
# The hook ends when PID 1 is gone: by itself (0) or killed with the namespace (137).
if [ "$hook_rc" -ne 0 ] && [ "$hook_rc" -ne 137 ]; then
  echo "FAIL: preStop hook status $hook_rc"; exit 1
fi
if [ "$turnpike_rc" -ne 0 ]; then
  cat "$tmp/turnpike.log"; echo "FAIL: turnpike exit $turnpike_rc"; exit 1
fi
echo "PASS: kubernetes manifests ($KUBECTL)"
