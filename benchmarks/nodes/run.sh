#!/usr/bin/env bash
# Calls across two nodes against calls on one: starts one redis-server and
# two turnpike nodes A and B with `store.backend: redis`, and one node with
# the default SQLite store (otherwise the config of callgen/run.sh), and
# measures side by side, the setups alternating within each run:
#   1. closed-loop call flows/s at K flows in flight (caller on A, callee on
#      B; both on the SQLite node),
#   2. POST /v1/calls -> call.incoming latency at a steady open-loop rate,
#   3. Redis commands per call flow (INFO commandstats, heartbeats and the
#      generator's setup subtracted) and server-side CPU per flow;
# each step on fresh processes, --runs times; then one run under MONITOR
# that splits the commands into those the nodes send and those their Lua
# scripts run. Prints medians and min-max.
#
#   benchmarks/nodes/run.sh [--runs 3] [--k 16] [--rate 100] [--steady 15] [SERVER [CALLGEN]]
#   benchmarks/nodes/run.sh --smoke SERVER CALLGEN   # CI: ~40 s, fails on any error
#
# SERVER defaults to build/relay/app/turnpike, CALLGEN to
# build/benchmarks/turnpike-callgen; REDIS_SERVER and REDIS_CLI to
# /usr/bin/redis-server and /usr/bin/redis-cli. Servers (redis-server, A and
# B, or the SQLite node) are pinned to the first allowed CPU, the generator
# to the second. Traffic goes to 127.0.0.1 only; every wait is bounded;
# only processes this script started are stopped, by their PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

SMOKE=0
RUNS=3
K=16         # closed loop: flows in flight (the best K for both setups, README)
RATE=100     # open loop: flows/s
STEADY=15    # open loop: seconds
IDLE=5       # seconds with no client, measured before each step
SETTLE=1     # seconds after each generator run, for its closed sockets
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1; shift ;;
    --runs) RUNS=$2; shift 2 ;;
    --k) K=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --steady) STEADY=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    --*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
SERVER=${1:-$ROOT/build/relay/app/turnpike}
CALLGEN=${2:-$ROOT/build/benchmarks/turnpike-callgen}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
REDIS_CLI=${REDIS_CLI:-/usr/bin/redis-cli}
PYTHON=/usr/bin/python3
for b in "$SERVER" "$CALLGEN"; do
  [ -x "$b" ] || { echo "missing $b: build it first" >&2; exit 2; }
done
for b in "$REDIS_SERVER" "$REDIS_CLI"; do
  # 77: ctest's SKIP_RETURN_CODE for nodes_bench_smoke.
  [ -x "$b" ] || { echo "missing $b (apt-get install redis-server)" >&2; exit 77; }
done
SERVER=$(realpath "$SERVER")
CALLGEN=$(realpath "$CALLGEN")

if [ "$SMOKE" = 1 ]; then
  RUNS=1 K=4 RATE=20 STEADY=2 IDLE=0.5 SETTLE=0.3
  CLOSED_SECONDS=1 CLOSED_USERS=16 STEADY_USERS=20 MONITOR_SECONDS=1
else
  CLOSED_SECONDS=5 CLOSED_USERS=256 STEADY_USERS=200 MONITOR_SECONDS=5
fi

SECRET=bench-secret-0123456789
WORK=$(mktemp -d)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
declare -A NODE_PID=() NODE_API=() NODE_METRICS=()
REDIS_PID=""
REDIS_PORT=""
MONITOR_PID=""

# stop_pid PID: SIGINT (turnpike stops at once; SIGTERM would drain),
# SIGKILL after 10 s; only PIDs started here.
stop_pid() {
  local pid=$1
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_all() {
  [ -z "$MONITOR_PID" ] || stop_pid "$MONITOR_PID"
  MONITOR_PID=""
  local name
  for name in "${!NODE_PID[@]}"; do stop_pid "${NODE_PID[$name]}"; done
  NODE_PID=() NODE_API=() NODE_METRICS=()
  [ -z "$REDIS_PID" ] || stop_pid "$REDIS_PID"
  REDIS_PID="" REDIS_PORT=""
}
cleanup() {
  stop_all
  if [ -n "${TURNPIKE_KEEP_TMP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The first two CPUs this process may use (as callgen/run.sh).
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

rcli() { timeout 5 "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

start_redis() {
  local attempt
  for attempt in 1 2 3; do
    # A port free now; another process may take it first, hence 3 attempts.
    REDIS_PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$WORK/redis"
    (cd "$WORK/redis" && exec "${PIN_SERVER[@]}" "$REDIS_SERVER" --port "$REDIS_PORT" \
      --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/redis" \
      --logfile "$WORK/redis/redis.log") < /dev/null > /dev/null 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 100); do
      [ "$(rcli ping 2>/dev/null)" = PONG ] && return 0
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    echo "redis-server on port $REDIS_PORT did not answer PING (attempt $attempt):" >&2
    tail -5 "$WORK/redis/redis.log" >&2 || true
    stop_pid "$REDIS_PID"
    REDIS_PID=""
  done
  return 1
}

# start_node NAME: a turnpike process; NAME "one" uses SQLite, others Redis.
start_node() {
  local name=$1 store
  if [ "$name" = one ]; then
    rm -f "$WORK"/one.db*
    store="store:
  sqlite:
    path: $WORK/one.db"
  else
    store="node: {name: \"$name\", region: \"eu\"}
store: {backend: redis, redis: {address: \"127.0.0.1:$REDIS_PORT\", timeout: \"1s\"}}"
  fi
  cat > "$WORK/$name.yaml" <<YAML
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
$store
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
log:
  level: info
YAML
  : > "$WORK/$name.log"
  (cd "$WORK" && exec "${PIN_SERVER[@]}" "$SERVER" --config "$WORK/$name.yaml") \
    > "$WORK/$name.log" 2>&1 &
  NODE_PID[$name]=$!
  local api="" metrics=""
  for _ in $(seq 100); do
    api=$(sed -n 's|.*api on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$WORK/$name.log" | head -1)
    metrics=$(sed -n 's|.*metrics on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$WORK/$name.log" | head -1)
    if [ -n "$api" ] && [ -n "$metrics" ]; then
      NODE_API[$name]=$api NODE_METRICS[$name]=$metrics
      return 0
    fi
    kill -0 "${NODE_PID[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "node $name did not print its api and metrics ports within 10 s:" >&2
  tail -20 "$WORK/$name.log" >&2
  return 1
}

# start_setup nodes|one: fresh processes (empty stores).
start_setup() {
  if [ "$1" = nodes ]; then
    start_redis && start_node a && start_node b || return 1
    # Nodes announce themselves every second; until B's announcement and
    # presence reach A, a call from A to B's devices would find them gone.
    sleep 2
  else
    start_node one
  fi
}

# cpu_ns PID: the process's CPU time in ns, all threads (schedstat).
cpu_ns() {
  local ns=0 n
  for n in $(cut -d' ' -f1 /proc/"$1"/task/*/schedstat 2> /dev/null); do ns=$((ns + n)); done
  echo "$ns"
}

# snapshot FILE: wall time, CPU of each server-side process, the machine's
# busy time (/proc/stat ticks), the nodes' store conflicts and Redis's INFO
# commandstats.
snapshot() {
  local out=$1 name
  {
    echo "time $(date +%s.%N)"
    [ -z "$REDIS_PID" ] || echo "cpu_redis $(cpu_ns "$REDIS_PID")"
    for name in "${!NODE_PID[@]}"; do echo "cpu_$name $(cpu_ns "${NODE_PID[$name]}")"; done
    awk '/^cpu / {print "busy_ticks", $2 + $3 + $4 + $7 + $8}' /proc/stat
    for name in "${!NODE_METRICS[@]}"; do
      timeout 5 curl -s "http://127.0.0.1:${NODE_METRICS[$name]}/metrics" |
        awk -v n="$name" '/^turnpike_store_conflicts_total/ {print "conflicts_" n, $NF}' || true
    done
    [ -z "$REDIS_PORT" ] || rcli info commandstats | tr -d '\r' | grep '^cmdstat_'
  } > "$out"
}

# gen NAME SECONDS ARGS...: one turnpike-callgen run against the setup
# started last (callers on A, callees on B for nodes), killed after SECONDS;
# JSON in $WORK/NAME.json, its CPU in NAME.time, its line on stderr.
gen() {
  local name=$1 limit=$2 rc=0
  shift 2
  local where=(--server "127.0.0.1:${NODE_API[one]:-}")
  if [ -n "$REDIS_PID" ]; then
    where=(--server "127.0.0.1:${NODE_API[a]}" --callee-server "127.0.0.1:${NODE_API[b]}")
  fi
  local TIMEFORMAT='%3R %3U %3S'
  { time "${PIN_GEN[@]}" timeout "$limit" "$CALLGEN" "${where[@]}" --secret "$SECRET" \
      --json "$WORK/$name.json" "$@" > /dev/null 2> "$WORK/$name.err"; } 2> "$WORK/$name.time" ||
    rc=$?
  echo "  $name: $(tail -1 "$WORK/$name.err")" >&2
  [ $rc = 0 ] || head -c 2000 "$WORK/$name.err" | grep -v "^flows\|^idle" >&2 || true
  return $rc
}

# setup_only NAME USERS: the generator's setup alone (register 2 x USERS
# devices, open and greet their sockets, close them), with no flow: what the
# measured run also pays besides its flows. callgen exits 1 (no flow
# finished); any error in its JSON fails.
setup_only() {
  local name=$1 users=$2
  gen "$name" 60 --mode flows --users "$users" --rate 0.001 --duration 0.1 --drain 0 || true
  "$PYTHON" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["errors"]["total"] != 0)' \
    "$WORK/$name.json" 2> /dev/null
}

# step SETUP NAME USERS ARGS...: fresh SETUP; IDLE s with no client (the
# heartbeats and timers to subtract); the setup-only run; the measured run;
# a snapshot around each (SETTLE s after each run, for its closed sockets).
# Stops the setup.
step() {
  local setup=$1 name=$2 users=$3 rc=0
  shift 3
  start_setup "$setup" || { stop_all; return 1; }
  snapshot "$WORK/$name.idle0"
  sleep "$IDLE"
  snapshot "$WORK/$name.idle1"
  snapshot "$WORK/$name.setup0"
  setup_only "${name}_setup" "$users" || rc=1
  sleep "$SETTLE"
  snapshot "$WORK/$name.setup1"
  snapshot "$WORK/$name.run0"
  gen "$name" $((60 + ${STEADY%.*} * 2)) --mode flows --users "$users" "$@" || rc=1
  sleep "$SETTLE"
  snapshot "$WORK/$name.run1"
  stop_all
  return $rc
}

# monitor_step: one open-loop run with MONITOR on, to tell the commands the
# nodes send (round trips) from those their Lua scripts run; MONITOR slows
# Redis, so none of its figures is a latency or throughput figure.
monitor_step() {
  local rc=0
  start_setup nodes || { stop_all; return 1; }
  timeout $((MONITOR_SECONDS + 90)) "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" monitor \
    > "$WORK/monitor.log" 2> /dev/null &
  MONITOR_PID=$!
  sleep 0.5
  echo "setup_start $(date +%s.%N)" > "$WORK/monitor.marks"
  setup_only monitor_setup "$STEADY_USERS" || rc=1
  sleep "$SETTLE"
  echo "run_start $(date +%s.%N)" >> "$WORK/monitor.marks"
  gen monitor_run 90 --mode flows --users "$STEADY_USERS" --rate "$RATE" \
    --duration "$MONITOR_SECONDS" --drain 5 || rc=1
  sleep "$SETTLE"
  echo "run_end $(date +%s.%N)" >> "$WORK/monitor.marks"
  stop_all
  return $rc
}

echo "servers on CPU $SERVER_CPU, generator on CPU $GEN_CPU, $RUNS runs; redis $("$REDIS_SERVER" --version | cut -d' ' -f3)" >&2
failures=0
for run in $(seq "$RUNS"); do
  # A/B then B/A: drift over the session hits both setups alike.
  if [ $((run % 2)) = 1 ]; then order="one nodes"; else order="nodes one"; fi
  echo "run $run of $RUNS ($order)" >&2
  for setup in $order; do
    step "$setup" "closed_${setup}_r$run" "$CLOSED_USERS" --rate 0 --concurrency "$K" \
      --duration "$CLOSED_SECONDS" || failures=$((failures + 1))
  done
  for setup in $order; do
    step "$setup" "steady_${setup}_r$run" "$STEADY_USERS" --rate "$RATE" --duration "$STEADY" \
      --drain 5 || failures=$((failures + 1))
  done
done
echo "one run with MONITOR on (not timed)" >&2
monitor_step || failures=$((failures + 1))

"$PYTHON" - "$WORK" "$RUNS" "$K" "$RATE" "$STEADY" "$SMOKE" <<'PY'
import glob, json, os, re, statistics, sys
work, runs, k, rate, steady, smoke = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6] == "1"

def load(name):
    try:
        return json.load(open(os.path.join(work, name + ".json")))
    except Exception:
        return None

OWN = ("info", "ping", "monitor", "config|resetstat")  # this script's own commands
# What the nodes send themselves (control/store/redis_store.cc,
# redis_connection.cc); HGET, HSET, PUBLISH... come from the Lua scripts
# (the MONITOR run below shows which is which).
NODE_SENT = ("evalsha", "eval", "hmget", "lrange", "hgetall", "smembers", "zrangebyscore",
             "zremrangebyscore", "hsetnx")

def snap(path):
    """{time, busy_ticks, conflicts, cpu: {process: ns}, cmd: {name: (calls, usec)}}"""
    out = {"cmd": {}, "conflicts": 0.0, "cpu": {}}
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return None
    for line in lines:
        m = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
        if m:
            out["cmd"][m.group(1)] = (int(m.group(2)), int(m.group(3)))
        elif line.startswith("conflicts_"):
            out["conflicts"] += float(line.split()[1])
        elif line.startswith("cpu_"):
            out["cpu"][line.split()[0][4:]] = float(line.split()[1])
        elif line.strip():
            key, value = line.split()
            out[key] = float(value)
    return out

def delta(a, b):
    d = {key: b[key] - a[key] for key in ("time", "busy_ticks", "conflicts")}
    d["cpu"] = {p: b["cpu"].get(p, 0) - a["cpu"].get(p, 0) for p in b["cpu"]}
    names = set(a["cmd"]) | set(b["cmd"])
    d["cmd"] = {n: (b["cmd"].get(n, (0, 0))[0] - a["cmd"].get(n, (0, 0))[0],
                    b["cmd"].get(n, (0, 0))[1] - a["cmd"].get(n, (0, 0))[1]) for n in names}
    return d

def gen_cpu_s(name):
    try:
        _, user, system = open(os.path.join(work, name + ".time")).read().split()[-3:]
        return float(user) + float(system)
    except (OSError, ValueError):
        return 0.0

# Measured run minus setup-only run: the flows alone, with the same
# generator setup and socket teardown on both sides. What the servers do
# with no client (tp:nodes heartbeats, every node every second; timers) is
# removed at the idle interval's rate.
def flow_costs(name):
    r = load(name)
    s = [snap(os.path.join(work, f"{name}.{p}")) for p in ("idle0", "idle1", "setup0", "setup1", "run0", "run1")]
    if not r or None in s or r["completed"] == 0:
        return None
    idle, setup, full = delta(s[0], s[1]), delta(s[2], s[3]), delta(s[4], s[5])
    flows = r["completed"]
    dt = full["time"] - setup["time"]
    scale = dt / idle["time"]
    out = {"flows": flows}
    cpu = {p: (full["cpu"][p] - setup["cpu"].get(p, 0) - idle["cpu"].get(p, 0) * scale) / 1e3 / flows
           for p in full["cpu"]}
    out["cpu_us"] = cpu
    out["server_cpu_us"] = sum(cpu.values())
    gen = gen_cpu_s(name) - gen_cpu_s(name + "_setup")
    busy = (full["busy_ticks"] - setup["busy_ticks"]) / 100.0  # USER_HZ
    servers = sum(full["cpu"][p] - setup["cpu"].get(p, 0) for p in full["cpu"]) / 1e9
    out["others_pct"] = 100.0 * max(0.0, busy - servers - gen) / dt if dt > 0 else 0.0
    out["conflicts"] = (full["conflicts"] - setup["conflicts"]) / flows
    out["ended_events"] = r["events"].get("call.ended", 0) / flows
    if full["cmd"]:
        per = {}
        for n in set(full["cmd"]) | set(setup["cmd"]):
            if n in OWN:
                continue
            c = full["cmd"].get(n, (0, 0))[0] - setup["cmd"].get(n, (0, 0))[0]
            u = full["cmd"].get(n, (0, 0))[1] - setup["cmd"].get(n, (0, 0))[1]
            ic, iu = idle["cmd"].get(n, (0, 0))
            per[n] = ((c - ic * scale) / flows, (u - iu * scale) / flows)
        out["per_command"] = per
        out["commands"] = sum(v[0] for v in per.values())
        out["round_trips"] = sum(v[0] for n, v in per.items() if n in NODE_SENT)
        # A script's usec include those of the commands it runs: count the outer ones.
        out["redis_usec"] = sum(v[1] for n, v in per.items() if n in NODE_SENT)
        heartbeat = sum(c for n, (c, _) in idle["cmd"].items() if n not in OWN) / idle["time"]
        out["heartbeat_per_s"] = heartbeat
        setup_cmds = sum(c for n, (c, _) in setup["cmd"].items() if n not in OWN)
        out["setup_commands_per_device"] = (setup_cmds - heartbeat * setup["time"]) / (2 * r["pairs"])
    return out

def spread(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    med = fmt.format(statistics.median(values))
    return f"{med} ({fmt.format(min(values))} - {fmt.format(max(values))})" if len(values) > 1 else med

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

rows = []
def row(figure, one, nodes, fmt, ratio=True):
    m1, m2 = med(one), med(nodes)
    r = f"{m2 / m1:.2f}" if ratio and m1 and m2 is not None else ""
    rows.append(f"| {figure} | {spread(one, fmt)} | {spread(nodes, fmt)} | {r} |")

def series(kind, setup, get):
    out = []
    for run in range(1, runs + 1):
        r = load(f"{kind}_{setup}_r{run}")
        out.append(get(r, f"{kind}_{setup}_r{run}") if r else None)
    return out

ms = lambda us: us / 1000.0
cost = {}
def costs(name):
    if name not in cost:
        cost[name] = flow_costs(name)
    return cost[name]
def cost_field(field):
    return lambda r, name: (costs(name) or {}).get(field)

for kind, label in (("closed", f"closed loop K={k}"), ("steady", f"open loop {rate}/s for {steady} s")):
    def pair(figure, get, fmt, ratio=True):
        row(f"{label}: {figure}", series(kind, "one", get), series(kind, "nodes", get), fmt, ratio)
    pair("flows/s completed", lambda r, n: r["flows_per_second"], "{:.0f}" if kind == "closed" else "{:.1f}")
    for q in ("p50", "p90", "p99") if kind == "steady" else ("p50", "p99"):
        pair(f"call.incoming {q} ms", lambda r, n, q=q: ms(r["incoming_latency"][q + "_us"]), "{:.2f}")
    if kind == "steady":
        pair("call.incoming max ms", lambda r, n: ms(r["incoming_latency"]["max_us"]), "{:.2f}")
        pair("create -> 201 p50 ms", lambda r, n: ms(r["create_response"]["p50_us"]), "{:.2f}")
        pair("generator start lag p99 ms", lambda r, n: ms(r["start_lag"]["p99_us"]), "{:.2f}", False)
    pair("server-side CPU us/flow (A+B+redis / one node)", cost_field("server_cpu_us"), "{:.0f}")
    for proc, what in (("a", "caller's node A"), ("b", "callee's node B"), ("redis", "redis-server")):
        pair(f"  of which {what}", lambda r, n, proc=proc: ((costs(n) or {}).get("cpu_us") or {}).get(proc),
             "{:.0f}", False)
    pair("Redis commands/flow (incl. inside Lua)", cost_field("commands"), "{:.1f}", False)
    pair("  of which sent by the nodes (round trips)", cost_field("round_trips"), "{:.2f}", False)
    pair("Redis time in commands, us/flow (commandstats usec)", cost_field("redis_usec"), "{:.0f}", False)
    pair("store conflicts/flow (both nodes)", cost_field("conflicts"), "{:.3f}", False)
    pair("call.ended events/flow (2: caller, callee)", cost_field("ended_events"), "{:.3f}", False)
    pair("others on the machine, % of a core", cost_field("others_pct"), "{:.0f}", False)

print(f"\n## Calls across two nodes (Redis) vs one node (SQLite): {runs} runs, median (min - max)\n")
print("| figure | one node, SQLite | caller on A, callee on B, Redis | nodes / one |")
print("|---|---|---|---|")
print("\n".join(rows))

# Ratios within each run (the two setups ran minutes apart): the noise of the ratio itself.
def ratios(kind, get):
    out = []
    for run in range(1, runs + 1):
        a, b = load(f"{kind}_one_r{run}"), load(f"{kind}_nodes_r{run}")
        out.append(f"{get(b) / get(a):.2f}" if a and b and get(a) else "n/a")
    return " / ".join(out)
print("\nnodes / one within each run: closed-loop flows/s",
      ratios("closed", lambda r: r["flows_per_second"]) + "; open-loop call.incoming p50",
      ratios("steady", lambda r: r["incoming_latency"]["p50_us"]) + ", p99",
      ratios("steady", lambda r: r["incoming_latency"]["p99_us"]))

first = costs("steady_nodes_r1")
if first and "per_command" in first:
    print(f"\nRedis commands per flow by command, open loop run 1 ({first['flows']} flows; "
          f"heartbeats {first['heartbeat_per_s']:.1f} commands/s subtracted; the generator's setup "
          f"costs {first['setup_commands_per_device']:.1f} commands per device):\n")
    print("| command | calls/flow | usec/flow (a script's include its commands') |\n|---|---|---|")
    for n, (c, u) in sorted(first["per_command"].items(), key=lambda kv: -kv[1][0]):
        if abs(c) >= 0.005:
            print(f"| {n} | {c:.2f} | {u:.1f} |")

# MONITOR: '<ts> [0 127.0.0.1:port] "CMD" ...' from a node, '[0 lua]' from a script.
try:
    marks = dict(line.split() for line in open(os.path.join(work, "monitor.marks")))
    marks = {k2: float(v) for k2, v in marks.items()}
    seg = {"setup": {}, "run": {}}
    for line in open(os.path.join(work, "monitor.log"), errors="replace"):
        m = re.match(r'(\d+\.\d+) \[\d+ ([^\]]+)\] "([^"]+)"(?: "([^"]*)")?', line)
        if not m:
            continue
        ts, source, cmd, key = float(m.group(1)), m.group(2), m.group(3).lower(), m.group(4) or ""
        if key == "tp:nodes" or cmd in OWN or cmd.startswith("config"):
            continue  # heartbeats (HSET/HGETALL/HDEL tp:nodes), this script's own
        where = "lua" if source == "lua" else "node"
        part = None
        if marks["setup_start"] <= ts < marks["run_start"]:
            part = "setup"
        elif marks["run_start"] <= ts < marks["run_end"]:
            part = "run"
        if part:
            seg[part][(where, cmd)] = seg[part].get((where, cmd), 0) + 1
    mon = load("monitor_run")
    flows = mon["completed"] if mon else 0
    if flows:
        keys = set(seg["setup"]) | set(seg["run"])
        per = {kk: (seg["run"].get(kk, 0) - seg["setup"].get(kk, 0)) / flows for kk in keys}
        sent = sum(v for (w, _), v in per.items() if w == "node")
        inner = sum(v for (w, _), v in per.items() if w == "lua")
        print(f"\nUnder MONITOR ({flows} flows at {rate}/s, generator setup and tp:nodes heartbeats "
              f"removed): {sent:.2f} commands/flow sent by the nodes (round trips), "
              f"{inner:.2f} run inside their Lua scripts. MONITOR slows Redis, so conflicts "
              f"(an EVALSHA again, HMGET + LRANGE) are more frequent than in the runs above.\n")
        print("| sent by | command | calls/flow |\n|---|---|---|")
        for (w, c), v in sorted(per.items(), key=lambda kv: (kv[0][0] != "node", -kv[1])):
            if abs(v) >= 0.005:
                print(f"| {'node' if w == 'node' else 'Lua script'} | {c} | {v:.2f} |")
except (OSError, ValueError, KeyError) as e:
    print(f"\nMONITOR breakdown unavailable: {e}")

errors = {}
for path in glob.glob(os.path.join(work, "*.json")):
    for kind, n in json.load(open(path))["errors"]["by_kind"].items():
        errors[kind] = errors.get(kind, 0) + n
print("\nerrors over all runs:", json.dumps(errors) if errors else "none")
if smoke:
    ok = all(load(f"{kk}_{s}_r1") and load(f"{kk}_{s}_r1")["completed"] > 0
             for kk in ("closed", "steady") for s in ("one", "nodes"))
    c = costs("steady_nodes_r1")
    if not ok or errors or not c or not c.get("commands", 0) > 0:
        sys.exit("nodes smoke: a step finished no flow, reported errors or counted no Redis command")
PY
[ "$failures" = 0 ] || { echo "$failures steps reported errors (see above)" >&2; exit 1; }
[ "$SMOKE" = 0 ] || echo "nodes smoke: flows across A and B and on one node, no errors" >&2
