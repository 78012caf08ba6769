#!/usr/bin/env bash
# Push benchmarks against the local APNs/FCM fake (tests/integration/calls/
# push_fakes.py, one Python process on 127.0.0.1):
#  1. APNs invites per second over ONE HTTP/2 connection through Turnpike's
#     push path (turnpike-push-rate), side by side with h2load sending the same
#     request on one connection to the same fake: the ratio shows how close our
#     client comes to a bare HTTP/2 load generator; the client's CPU per push
#     shows what one core could do if the server were not the limit.
#  2. POST /v1/calls to the VoIP push arriving at the fake, p50/p90/p99, through
#     the real binary (latency.py).
# Every run is bounded in count and time; all traffic stays on loopback.
#
#   benchmarks/push/run.sh BUILD_DIR [--count N] [--window W] [--calls N]
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [--count N] [--window W] [--calls N]}" && pwd)
shift
count=10000
window=50
calls=200
while [[ $# -gt 0 ]]; do
  case $1 in
    --count) count=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/turnpike-push-bench.XXXXXX)
fifo=$work/stdin
mkfifo "$fifo"
cleanup() {
  exec 3>&- 2>/dev/null || true
  [[ -n ${fake_pid:-} ]] && kill "$fake_pid" 2>/dev/null || true
  [[ -n ${nghttpd_pid:-} ]] && kill "$nghttpd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The fake serves until its stdin closes.
/usr/bin/python3 "$src/tests/integration/calls/push_fakes.py" --dir "$work" --port 0 \
  <"$fifo" >"$work/info.json" 2>"$work/fake.log" &
fake_pid=$!
exec 3>"$fifo"
for _ in $(seq 100); do [[ -s $work/info.json ]] && break; sleep 0.1; done
url=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/info.json")
key=$work/AuthKey_KEY1234567.p8

# One side-by-side run against BASE_URL: turnpike-push-rate, then h2load with
# the same request on one connection; prints both and their ratio.
side_by_side() {
  local base=$1 n=$2 label=$3 ours h2out
  ours=$("$build/benchmarks/turnpike-push-rate" --url "$base" --ca "$work/ca.pem" --key "$key" \
    --count "$n" --window "$window" --seconds 60)
  echo "turnpike: $ours"
  h2out=$(h2load -n "$n" -c 1 -m "$window" -d "$work/body.json" "${h2args[@]}" \
    "$base/3/device/bench0" 2>&1 | grep -E "^finished in|^requests:|^status codes:")
  echo "h2load:   $(echo "$h2out" | tr '\n' ' ')"
  /usr/bin/python3 - "$ours" "$h2out" "$label" <<'PY'
import json, re, sys
ours = json.loads(sys.argv[1])
m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", sys.argv[2])
theirs = float(m.group(3)) if m else 0.0
print(f"ratio turnpike/h2load {sys.argv[3]}: {ours['pushes_per_second'] / theirs:.2f} "
      f"({ours['pushes_per_second']:.0f} vs {theirs:.0f} pushes/s on one connection); "
      f"turnpike client CPU {ours['cpu_us_per_push']:.1f} us/push")
PY
}

echo "== APNs invites over one HTTP/2 connection ($count pushes, $window in flight)"
# The same request for h2load: one provider token, the invite body and headers.
/usr/bin/python3 - "$key" "$work" <<'PY'
import json, sys, time, uuid
import jwt
key, work = sys.argv[1], sys.argv[2]
now = int(time.time() * 1000)
token = jwt.encode({"iss": "TEAM123456", "iat": int(time.time())}, open(key).read(),
                   algorithm="ES256", headers={"kid": "KEY1234567"})
body = {"event": "incoming_call", "callId": str(uuid.uuid4()), "fromUserId": "alice",
        "type": "audio", "timestamp": now, "ttlSeconds": 30, "expiresAt": now + 30000,
        "modeHint": "p2p"}
open(f"{work}/body.json", "w").write(json.dumps(body))
headers = ["apns-push-type: voip", "apns-topic: com.example.turnpike.voip", "apns-priority: 10",
           f"apns-expiration: {(now + 30000) // 1000}", "content-type: application/json",
           f"authorization: bearer {token}"]
open(f"{work}/headers", "w").write("\n".join(headers) + "\n")
PY
h2args=()
while IFS= read -r h; do h2args+=(-H "$h"); done <"$work/headers"
side_by_side "$url" "$count" "against the Python fake"

echo "== the same against nghttpd (nghttp2's C server: the client's own ceiling)"
mkdir -p "$work/htdocs/3/device"
: >"$work/htdocs/3/device/bench0"
for i in $(seq 1 999); do : >"$work/htdocs/3/device/bench$i"; done
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout 120 nghttpd -a 127.0.0.1 -d "$work/htdocs" "$port" "$work/server.key" "$work/server.pem" \
  >"$work/nghttpd.log" 2>&1 &
nghttpd_pid=$!
sleep 0.5
side_by_side "https://127.0.0.1:$port" $((count * 5)) "against nghttpd"
kill "$nghttpd_pid" 2>/dev/null || true

echo "== POST /v1/calls -> VoIP push at the fake ($calls calls)"
exec 3>&-
wait "$fake_pid" 2>/dev/null || true
fake_pid=
TURNPIKE_BINARY=$build/relay/app/turnpike TURNPIKE_SOURCE_DIR=$src \
  /usr/bin/python3 "$here/latency.py" --calls "$calls"
