#!/usr/bin/env bash
# The call-control benchmark: starts the real server on loopback (plain HTTP
# API, SQLite in a temp dir, rate limits raised), pins it to one core and
# turnpike-callgen to the other, and measures
#   1. the most call flows/s (closed loop at several concurrencies),
#   2. where p99 starts to climb (open loop at fractions of that maximum),
#   3. call.incoming latency at a steady 100 flows/s for 20 s,
#   4. the server's memory per idle WebSocket with 10,000 of them open,
# each on a fresh server, --runs times; then prints medians and spread.
#
#   benchmarks/callgen/run.sh [--runs 3] [SERVER [CALLGEN]]
#   benchmarks/callgen/run.sh --smoke SERVER CALLGEN   # CI: ~5 s, fails on any error
#
# SERVER defaults to build/relay/app/turnpike, CALLGEN to
# build/benchmarks/turnpike-callgen. Traffic goes to 127.0.0.1 only; every
# step is bounded by `timeout`; only the server this script started is
# stopped, by its PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

SMOKE=0
RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1; shift ;;
    --runs) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    --*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
SERVER=${1:-$ROOT/build/relay/app/turnpike}
CALLGEN=${2:-$ROOT/build/benchmarks/turnpike-callgen}
for b in "$SERVER" "$CALLGEN"; do
  [ -x "$b" ] || { echo "missing $b: build it first" >&2; exit 2; }
done
SERVER=$(realpath "$SERVER")
CALLGEN=$(realpath "$CALLGEN")

SECRET=bench-secret-0123456789
WORK=$(mktemp -d)
SERVER_PID=""
API_PORT=""
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    # SIGINT stops at once (SIGTERM would drain). Bounded: a server that
    # ignores it for 10 s gets SIGKILL.
    kill -INT "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

# The first two CPUs this process may use: the server gets one, the
# generator the other (both the same one on a single-CPU machine).
cpus() {
  local list
  list=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
  local IFS=,
  for part in $list; do
    if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
  done | head -2
}
mapfile -t CPU_LIST < <(cpus)
SERVER_CPU=${CPU_LIST[0]:-0}
GEN_CPU=${CPU_LIST[1]:-$SERVER_CPU}
PIN_SERVER=()
PIN_GEN=()
if [ "$SMOKE" = 0 ] && command -v taskset >/dev/null; then
  PIN_SERVER=(taskset -c "$SERVER_CPU")
  PIN_GEN=(taskset -c "$GEN_CPU")
fi

start_server() {
  rm -f "$WORK"/bench.db*
  cat > "$WORK/turnpike.yaml" <<YAML
listen:
  udp: ["127.0.0.1:0"]
  tcp: ["127.0.0.1:0"]
  tls: ["127.0.0.1:0"]
relay:
  workers: 1
  addresses: [{bind: 127.0.0.1}]
metrics:
  listen: "127.0.0.1:0"
control:
  listen: "127.0.0.1:0"
store:
  sqlite:
    path: $WORK/bench.db
api:
  listen: ["127.0.0.1:0"]
  tls: false
  max_connections: 20000
  user_tokens:
    hs256_secrets: ["$SECRET"]
calls:
  rate_limits:
    create_per_minute: 100000
    signals_per_second: 1000
# info: the port is learnt from the "api on" line, and per-call-event JSON
# log lines are part of the product's cost.
log:
  level: info
YAML
  # Emptied here, not only by the child's redirection: the loop below must
  # never read the previous server's port. Started from $WORK so nothing
  # lands in the caller's directory; exec keeps $! the server's own PID.
  : > "$WORK/server.log"
  (cd "$WORK" && exec "${PIN_SERVER[@]}" "$SERVER" --config "$WORK/turnpike.yaml") \
    > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  API_PORT=""
  for _ in $(seq 100); do
    API_PORT=$(sed -n 's|.*api on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$WORK/server.log" | head -1)
    [ -n "$API_PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not print \"api on http://127.0.0.1:PORT\" within 10 s:" >&2
  tail -20 "$WORK/server.log" >&2
  stop_server
  return 1
}

# gen NAME SECONDS ARGS...: one turnpike-callgen run against the running
# server, killed after SECONDS; JSON in $WORK/NAME.json, its line on stderr.
gen() {
  local name=$1 limit=$2 rc=0
  shift 2
  "${PIN_GEN[@]}" timeout "$limit" "$CALLGEN" --server "127.0.0.1:$API_PORT" --secret "$SECRET" \
    --server-pid "$SERVER_PID" --json "$WORK/$name.json" "$@" > /dev/null 2> "$WORK/$name.err" || rc=$?
  echo "  $name: $(tail -1 "$WORK/$name.err")" >&2
  [ $rc = 0 ] || head -c 2000 "$WORK/$name.err" | grep -v "^flows\|^idle" >&2 || true
  return $rc
}

# fresh NAME SECONDS ARGS...: gen on a server of its own (an empty store).
fresh() {
  start_server
  local rc=0
  gen "$@" || rc=$?
  stop_server
  return $rc
}

if [ "$SMOKE" = 1 ]; then
  start_server
  status=0
  gen smoke_flows 20 --mode flows --rate 20 --duration 2 --users 20 --drain 3 || status=1
  gen smoke_idle 20 --mode idle --connections 200 --hold 1 || status=1
  stop_server
  [ $status = 0 ] && echo "callgen smoke: flows completed, 200 idle sockets, no errors" >&2
  exit $status
fi

echo "server $SERVER on CPU $SERVER_CPU, generator on CPU $GEN_CPU, $RUNS runs" >&2
failures=0
for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS" >&2
  for k in 4 16 64; do
    fresh "closed_k${k}_r$run" 60 --mode flows --rate 0 --concurrency "$k" --users 256 \
      --duration 5 || failures=$((failures + 1))
  done
  fresh "steady_r$run" 90 --mode flows --rate 100 --duration 20 --users 200 || failures=$((failures + 1))
  fresh "idle_r$run" 120 --mode idle --connections 10000 --hold 5 || failures=$((failures + 1))
done

# Where p99 starts to climb: open loop at fractions of the median maximum.
MAX=$(python3 - "$WORK" <<'PY'
import glob, json, statistics, sys
best = {}
for path in glob.glob(sys.argv[1] + "/closed_k*_r*.json"):
    run = path.rsplit("_r", 1)[1]
    best[run] = max(best.get(run, 0), json.load(open(path))["flows_per_second"])
print(int(statistics.median(best.values())) if best else 0)
PY
)
if [ "$MAX" -gt 0 ]; then
  echo "open loop at fractions of $MAX flows/s" >&2
  for pct in 25 50 75 90; do
    rate=$((MAX * pct / 100))
    [ "$rate" -ge 1 ] || continue
    fresh "knee_${pct}" 60 --mode flows --rate "$rate" --duration 5 --users 512 || true
  done
fi

python3 - "$WORK" "$RUNS" <<'PY'
import glob, json, os, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def load(pattern):
    out = []
    for p in sorted(glob.glob(os.path.join(work, pattern))):
        try:
            out.append(json.load(open(p)))
        except Exception:
            pass
    return out
def spread(values, fmt="{:.0f}"):
    if not values:
        return "n/a", "n/a"
    med = fmt.format(statistics.median(values))
    return med, fmt.format(min(values)) + " - " + fmt.format(max(values))
rows = []
def row(name, values, fmt="{:.0f}"):
    med, rng = spread(values, fmt)
    rows.append(f"| {name} | {med} | {rng} | {len(values)} |")
ms = lambda us: us / 1000.0
best = {}
for k in (4, 16, 64):
    runs_k = load(f"closed_k{k}_r*.json")
    row(f"closed loop K={k}: flows/s", [r["flows_per_second"] for r in runs_k])
    row(f"closed loop K={k}: call.incoming p99 ms", [ms(r["incoming_latency"]["p99_us"]) for r in runs_k], "{:.2f}")
    row(f"closed loop K={k}: server us CPU/flow", [r.get("server_cpu_us_per_flow", 0) for r in runs_k])
    row(f"closed loop K={k}: server CPU % of its core", [r.get("server_cpu_percent", 0) for r in runs_k])
    row(f"closed loop K={k}: others on the machine, % of a core", [r.get("other_busy_cpu_percent", 0) for r in runs_k])
for path in glob.glob(os.path.join(work, "closed_k*_r*.json")):
    run = path.rsplit("_r", 1)[1]
    best[run] = max(best.get(run, 0), json.load(open(path))["flows_per_second"])
row("max flows/s (best K per run)", list(best.values()))
steady = load("steady_r*.json")
row("steady 100/s: completed flows/s", [r["flows_per_second"] for r in steady], "{:.1f}")
for q in ("p50", "p90", "p99", "max"):
    row(f"steady 100/s: call.incoming {q} ms", [ms(r["incoming_latency"][q + "_us"]) for r in steady], "{:.2f}")
row("steady 100/s: server us CPU/flow", [r.get("server_cpu_us_per_flow", 0) for r in steady])
row("steady 100/s: generator start lag p99 ms", [ms(r["start_lag"]["p99_us"]) for r in steady], "{:.2f}")
row("steady 100/s: others on the machine, % of a core", [r.get("other_busy_cpu_percent", 0) for r in steady])
idle = load("idle_r*.json")
row("idle: WebSockets open (of 10,000)", [r["open"] for r in idle])
row("idle: server RSS growth, bytes per connection", [r.get("rss_growth_bytes_per_connection", 0) for r in idle])
row("idle: upgrades + hello.ok per second", [r["upgrades_per_second"] for r in idle])
row("idle: server CPU % while idle", [r.get("server_cpu_percent", 0) for r in idle], "{:.2f}")
row("idle: others on the machine, % of a core", [r.get("other_busy_cpu_percent", 0) for r in idle])
print(f"\n## Call control plane: {runs} runs (median, min - max)\n")
print("| figure | median | min - max | runs |\n|---|---|---|---|")
print("\n".join(rows))
knees = []
for pct in (25, 50, 75, 90):
    for r in load(f"knee_{pct}.json"):
        knees.append(f"| {pct}% | {r['rate']:.0f} | {r['flows_per_second']:.0f} | {ms(r['incoming_latency']['p50_us']):.2f} | "
                     f"{ms(r['incoming_latency']['p99_us']):.2f} | {ms(r['start_lag']['p99_us']):.2f} | {r['skipped']} | {r['errors']['total']} | "
                     f"{r.get('other_busy_cpu_percent', 0):.0f} |")
if knees:
    print("\n### Open loop at fractions of the maximum (one run each)\n")
    print("| of max | offered/s | completed/s | incoming p50 ms | incoming p99 ms | start lag p99 ms | skipped | errors | others % |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(knees))
errors = {}
for r in load("*.json"):
    for kind, n in r["errors"]["by_kind"].items():
        errors[kind] = errors.get(kind, 0) + n
print("\nerrors over all runs:", json.dumps(errors) if errors else "none")
PY
[ "$failures" = 0 ] || { echo "$failures runs reported errors (see above)" >&2; exit 1; }
