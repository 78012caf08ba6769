#!/bin/bash
# Alert rules and Grafana dashboard: promtool checks and unit-tests the rules,
# every dashboard query must parse as PromQL, every alert must have a firing
# unit test, and every series used must be in a live scrape of the binary.
#
# Usage (from anywhere): tests/packaging/alerts_test.sh [BINARY]
#   BINARY defaults to $TURNPIKE_BIN, else build/relay/app/turnpike.
# promtool comes from Debian's `prometheus` package. Exit 77 = skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
RULES=packaging/prometheus/turnpike-alerts.yaml
TESTS=packaging/prometheus/turnpike-alerts.test.yaml
DASHBOARD=packaging/grafana/turnpike-dashboard.json
BINARY="${1:-${TURNPIKE_BIN:-$ROOT/build/relay/app/turnpike}}"

if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool not found (apt-get install --no-install-recommends prometheus)"
  exit 77
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "== promtool check rules"
promtool check rules "$RULES"
echo "== promtool test rules"
promtool test rules "$TESTS"

echo "== yamllint (the rules file)"
if command -v yamllint >/dev/null; then
  yamllint -s -d '{extends: default, rules: {line-length: {max: 100}}}' "$RULES"
  echo "clean"
else
  echo "note: yamllint not installed; lint not run"
fi

echo "== every alert has a unit test in which it fires"
/usr/bin/python3 - "$RULES" "$TESTS" <<'EOF'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
fired = {c["alertname"] for t in tests["tests"] for c in t.get("alert_rule_test", [])
         if c.get("exp_alerts")}
for r in (r for g in rules["groups"] for r in g["rules"] if "alert" in r):
    for key in ("summary", "description", "runbook"):
        if not r.get("annotations", {}).get(key):
            sys.exit(f"FAIL: {r['alert']} has no {key} annotation")
    if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
        sys.exit(f"FAIL: {r['alert']} has no severity label")
missing = sorted(alerts - fired)
if missing:
    sys.exit(f"FAIL: no firing unit test for {', '.join(missing)}")
print(f"{len(alerts)} alerts, each with severity, annotations and a firing test")
EOF

echo "== dashboard: valid JSON, every query parses as PromQL"
/usr/bin/python3 -m json.tool "$DASHBOARD" >/dev/null
# promtool parses expressions only inside rule files: wrap each query in a
# recording rule, with the node selector variable made a plain regex.
/usr/bin/python3 - "$DASHBOARD" "$TMP/dashboard-rules.yaml" <<'EOF'
import json, sys
panels = json.load(open(sys.argv[1]))["panels"]
rules = [{"record": f"dashboard:panel{p['id']}:{t['refId'].lower()}",
          "expr": t["expr"].replace("$instance", ".*")}
         for p in panels for t in p.get("targets", [])]
if len(rules) < 30:
    sys.exit(f"FAIL: only {len(rules)} dashboard queries")
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
print(f"{len(rules)} queries")
EOF
promtool check rules "$TMP/dashboard-rules.yaml"

echo "== live scrape has every series used"
set +e
/usr/bin/python3 tests/packaging/series_check.py "$BINARY"
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
  echo "PASS: alerts_test"
fi
exit "$rc"
