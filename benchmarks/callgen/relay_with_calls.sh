#!/usr/bin/env bash
# The relay's CPU per packet with and without calls on the control plane,
# side by side in one run (A/B/A/B): the same server config (call API on),
# the media load of benchmarks/compare's audio_10k, and in the "calls" runs
# turnpike-callgen making complete call flows at a steady rate meanwhile.
# The server is pinned to one core, both generators to the other. Reports
# the relay worker thread's CPU per relayed packet (tp-worker-0, from
# schedstat), the whole process's, and loss.
#
#   benchmarks/callgen/relay_with_calls.sh [--pairs 3] [--duration 5] [--flows 100]
#
# Needs the build in build/. Traffic goes to 127.0.0.1 only; every run is
# bounded in time; only processes this script started are stopped, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

PAIRS=3
DURATION=5
FLOWS=100
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) PAIRS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --flows) FLOWS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BIN=build
for b in $BIN/relay/app/turnpike $BIN/benchmarks/turnpike-loadgen $BIN/benchmarks/turnpike-callgen; do
  [ -x "$b" ] || { echo "missing $b: build first" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || true
WORK=$(mktemp -d)
SERVER_CORE=1
GEN_CORE=0
[ "$(nproc)" -ge 2 ] || { SERVER_CORE=0; GEN_CORE=0; }
PORT=34790
SECRET=relay-calls-secret
USER_SECRET=relay-calls-user-secret-0123
SERVER_PID=""
CALLGEN_PID=""
cleanup() {
  [ -n "$CALLGEN_PID" ] && kill "$CALLGEN_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

thread_ns() {  # CPU of the threads of $1 whose name matches $2 (all: '.')
  for t in /proc/"$1"/task/*; do
    if grep -q "$2" "$t/comm" 2>/dev/null; then cat "$t/schedstat"; fi
  done | awk '{s+=$1} END {printf "%.0f\n", s}'
}

start_server() {
  rm -f "$WORK"/calls.db*
  cat > "$WORK/turnpike.yaml" <<YAML
listen: {udp: ["127.0.0.1:$PORT"], tcp: [], tls: []}
realm: example.org
auth: {rest_secrets: ["$SECRET"]}
relay:
  workers: 1
  addresses: [{bind: 127.0.0.1}]
  ports: {min: 40000, max: 59999}
  peers: {allow_loopback: true}
limits: {allocations_per_user: 100000, total_allocations: 100000, unauthenticated_per_second: 0}
metrics: {listen: "127.0.0.1:0"}
control: {listen: "127.0.0.1:0"}
api:
  listen: ["127.0.0.1:0"]
  tls: false
  user_tokens: {hs256_secrets: ["$USER_SECRET"]}
calls: {rate_limits: {create_per_minute: 100000, signals_per_second: 1000}}
store: {sqlite: {path: "$WORK/calls.db"}}
YAML
  : > "$WORK/server.log"
  taskset -c $SERVER_CORE $BIN/relay/app/turnpike --config "$WORK/turnpike.yaml" > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q "running with" "$WORK/server.log" && break
    sleep 0.1
  done
  API_PORT=$(grep -o 'api on http://127.0.0.1:[0-9]*' "$WORK/server.log" | grep -o '[0-9]*$')
  [ -n "$API_PORT" ] || { echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
}

stop_all() {
  if [ -n "$CALLGEN_PID" ]; then kill "$CALLGEN_PID" 2>/dev/null || true; wait "$CALLGEN_PID" 2>/dev/null || true; CALLGEN_PID=""; fi
  kill -INT "$SERVER_PID" 2>/dev/null || true  # SIGTERM would drain
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# run MODE (relay | calls) N: one measurement, a JSON line in results.
run() {
  local mode=$1 n=$2
  start_server
  if [ "$mode" = calls ]; then
    taskset -c $GEN_CORE timeout $((DURATION + 30)) $BIN/benchmarks/turnpike-callgen \
      --server "127.0.0.1:$API_PORT" --secret "$USER_SECRET" --mode flows --rate "$FLOWS" \
      --duration $((DURATION + 6)) --users 200 --json "$WORK/calls-$n.json" > "$WORK/callgen.log" 2>&1 &
    CALLGEN_PID=$!
    sleep 4  # registration and sockets done; flows running
  fi
  local w0 p0 w1 p1
  w0=$(thread_ns "$SERVER_PID" tp-worker)
  p0=$(thread_ns "$SERVER_PID" .)
  taskset -c $GEN_CORE timeout 120 $BIN/benchmarks/turnpike-loadgen --server 127.0.0.1:$PORT \
    --secret $SECRET --duration "$DURATION" --json "$WORK/media-$mode-$n.json" \
    --clients 100 --pps 50 --size 172 --echo > "$WORK/gen.log" 2>&1 || true
  w1=$(thread_ns "$SERVER_PID" tp-worker)
  p1=$(thread_ns "$SERVER_PID" .)
  local flows=0
  if [ "$mode" = calls ]; then
    wait "$CALLGEN_PID" 2>/dev/null || true
    CALLGEN_PID=""
    flows=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get('completed', d.get('flows_completed', 0)))" "$WORK/calls-$n.json" 2>/dev/null || echo 0)
  fi
  stop_all
  python3 - "$WORK/media-$mode-$n.json" "$mode" "$((w1 - w0))" "$((p1 - p0))" "$flows" >> "$WORK/results.jsonl" <<'PY'
import json, sys
path, mode, worker_ns, process_ns, flows = sys.argv[1:6]
d = json.load(open(path))
runs = d["runs"]
relayed = sum(r["to_peer"]["received"] + r["echoed"]["received"] for r in runs)
sent = sum(r["to_peer"]["sent"] + r["echoed"]["sent"] for r in runs) if all("sent" in r["to_peer"] for r in runs) else 0
print(json.dumps({"mode": mode, "relayed": relayed, "worker_ns": int(worker_ns),
                  "process_ns": int(process_ns), "flows": flows, "sent": sent}))
PY
  echo "  $mode run $n done" >&2
}

for n in $(seq "$PAIRS"); do
  run relay "$n"
  run calls "$n"
done

python3 - "$WORK/results.jsonl" "$FLOWS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def us(r, key): return r[key] / 1000 / r["relayed"] if r["relayed"] else float("nan")
out = {}
for mode in ("relay", "calls"):
    rs = [r for r in rows if r["mode"] == mode]
    out[mode] = {k: [round(us(r, k), 2) for r in rs] for k in ("worker_ns", "process_ns")}
    out[mode]["relayed"] = [r["relayed"] for r in rs]
    out[mode]["flows"] = [r["flows"] for r in rs]
print(json.dumps(out, indent=1))
w = statistics.median(out["calls"]["worker_ns"]) / statistics.median(out["relay"]["worker_ns"])
print(f"relay worker CPU per relayed packet, calls at {sys.argv[2]} flows/s vs none: "
      f"{statistics.median(out['calls']['worker_ns'])} vs {statistics.median(out['relay']['worker_ns'])} us "
      f"(ratio {w:.3f}); runs: calls {out['calls']['worker_ns']}, none {out['relay']['worker_ns']}")
PY
