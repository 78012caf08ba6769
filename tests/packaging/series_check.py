#!/usr/bin/python3
"""Every series the alert rules and the Grafana dashboard query is exported.

Starts the real binary on loopback (through the call tests' harness, so the
call API is on and the call and push families exist; a TLS listener on port
0, so the certificate gauge has a sample; store.redis set to a closed port, so
the usage-record families exist), scrapes /metrics once, and checks that each
metric name used in packaging/prometheus/turnpike-alerts.yaml and in every
target of packaging/grafana/turnpike-dashboard.json is in it, as a `# TYPE`
line or a sample. A family whose children appear only once something
happened (pushes, call end reasons) still prints its TYPE line, so the family
counts as present.

It also checks that the label values the rules match with `=` exist (a rule
on a label value the server never writes would never fire): in the scrape
when the family has children from the start, else as a string literal in the
server's source (control/, relay/).

Usage: series_check.py [BINARY]   (default $TURNPIKE_BIN, else
build/relay/app/turnpike). Exit 0 pass, 1 fail, 77 skipped.
"""
import functools
import json
import os
import re
import sys
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "packaging", "prometheus", "turnpike-alerts.yaml")
DASHBOARD = os.path.join(ROOT, "packaging", "grafana", "turnpike-dashboard.json")

# Prometheus makes these itself for every target; no exporter sends them.
BUILTIN_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                  "scrape_samples_post_metric_relabeling", "scrape_series_added"}
# Words of PromQL that look like names but are not metrics.
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "atan2", "inf", "nan"}


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def metric_names(expr):
    """Metric names in a PromQL expression. Not a parser: it drops what can
    hold look-alike words (strings, label matchers, ranges, label lists of
    by/on/...) and keeps the identifiers that are not function calls."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    # Not after a digit or dot (1e6, 30m) and not followed by "(" (rate, time).
    for m in re.finditer(r"(?<![\w.$:])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()", text):
        if m.group(0).lower() not in KEYWORDS:
            names.add(m.group(0))
    return names


def equality_matchers(expr):
    """(metric, label, value) for each `metric{label="value"}` in expr."""
    out = []
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
        for label, value in re.findall(r'(\w+)\s*=\s*"([^"]*)"', m.group(2)):
            out.append((m.group(1), label, value))
    return out


def rule_exprs():
    import yaml  # python3-yaml; the harness needs it too
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    return [(f"rule {r.get('alert') or r.get('record')}", r["expr"])
            for g in doc["groups"] for r in g["rules"]]


def dashboard_exprs():
    with open(DASHBOARD) as f:
        doc = json.load(f)
    return [(f"panel {p['title']!r}", t["expr"])
            for p in doc["panels"] for t in p.get("targets", []) if "expr" in t]


@functools.lru_cache(maxsize=1)
def source_text():
    """The server's C++ sources, for label values no idle server writes."""
    parts = []
    for top in ("control", "relay"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            parts += [open(os.path.join(folder, f), errors="replace").read()
                      for f in files if f.endswith((".cc", ".h"))]
    return "\n".join(parts)


def parse_scrape(text):
    """({family: type}, {sample name: [label dict, ...]})."""
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind.strip()
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s", line)
            if m:
                labels = dict(re.findall(r'(\w+)="((?:\\.|[^"\\])*)"', m.group(2) or ""))
                samples.setdefault(m.group(1), []).append(labels)
    return types, samples


def exported(name, types, samples):
    if name in types or name in samples:
        return True
    # Histogram and summary series carry suffixes their family's TYPE line has not.
    for suffix, kinds in (("_bucket", {"histogram"}), ("_sum", {"histogram", "summary"}),
                          ("_count", {"histogram", "summary"})):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in kinds:
            return True
    return False


def main():
    binary = (sys.argv[1] if len(sys.argv) > 1 else
              os.environ.get("TURNPIKE_BIN", os.path.join(ROOT, "build", "relay", "app", "turnpike")))
    binary = os.path.abspath(binary)
    if not os.access(binary, os.X_OK):
        skip(f"no turnpike binary at {binary} (build it, or pass its path)")
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "calls"))
    try:
        import harness  # starts the server, reads its ports from the log
    except ImportError as error:
        skip(f"tests/integration/calls/harness.py cannot be imported ({error}); "
             "run packaging/install-deps.sh")
    harness.BINARY = binary

    uses = {}  # metric name -> where it is used
    matchers = []
    for where, expr in rule_exprs() + dashboard_exprs():
        for name in metric_names(expr):
            uses.setdefault(name, []).append(where)
        if where.startswith("rule"):
            matchers += [(where, *m) for m in equality_matchers(expr)]
    if len(uses) < 20:
        print(f"FAIL: only {len(uses)} metric names found; is the extraction broken?")
        return 1

    server = harness.Server({"store": {"redis": {"address": "127.0.0.1:1"}}})
    try:
        server.start()
        url = f"http://127.0.0.1:{server.ports['metrics']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.cleanup()
    types, samples = parse_scrape(text)
    print(f"scraped {len(types)} families from {binary}; "
          f"{len(uses)} metric names in the rules and the dashboard")

    failures = 0
    for name in sorted(uses):
        if name in BUILTIN_SERIES:
            continue
        if not exported(name, types, samples):
            failures += 1
            print(f"MISSING: {name} (used by {', '.join(sorted(set(uses[name])))})")
    for where, metric, label, value in matchers:
        if metric in BUILTIN_SERIES:
            continue
        children = samples.get(metric)
        if not children:
            # No child before the first event: at least the value must be a
            # string the server's source writes.
            if f'"{value}"' in source_text():
                print(f"note: {metric}{{{label}=\"{value}\"}} ({where}): no child in an idle "
                      f"server; the value is a literal in the source")
            else:
                failures += 1
                print(f"BAD LABEL: {where} matches {metric}{{{label}=\"{value}\"}}, a value "
                      f"found neither in the scrape nor in control/ or relay/")
            continue
        if not any(c.get(label) == value for c in children):
            failures += 1
            seen = sorted({c.get(label, "") for c in children})
            print(f"BAD LABEL: {where} matches {metric}{{{label}=\"{value}\"}}; "
                  f"the server writes {label} in {seen}")
    # The certificate alert needs a value, not just a declared family.
    expiry = samples.get("turnpike_tls_certificate_expiry_timestamp_seconds", [])
    if "turnpike_tls_certificate_expiry_timestamp_seconds" in types and not any(
            c.get("listener") == "turn" for c in expiry):
        failures += 1
        print("MISSING: turnpike_tls_certificate_expiry_timestamp_seconds{listener=\"turn\"} "
              "has no sample although a TLS listener is on")
    if failures:
        print(f"FAIL: {failures} problem(s)")
        return 1
    print("PASS: every series used by the rules and the dashboard is exported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
