#!/usr/bin/python3
"""Renders the Kustomize layouts and checks what a safe Turnpike pod needs.

    packaging/kubernetes/check.py [base|hostnetwork|loadbalancer|extras ...]

With no argument it checks all four. kubectl comes from $KUBECTL (default
`kubectl`): `kubectl kustomize` renders offline. The config each layout ships
is run through `turnpike --check-config` when a binary is found ($TURNPIKE,
else build/relay/app/turnpike); without one that step is reported as not run.
Every problem is listed, then the exit status is 1.
"""

import base64
import copy
import ipaddress
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
KUBECTL = os.environ.get("KUBECTL", "kubectl")
LAYOUTS = {
    "base": HERE / "base",
    "hostnetwork": HERE / "overlays" / "hostnetwork",
    "loadbalancer": HERE / "overlays" / "loadbalancer",
}
IMAGE = "turnpike:0.1.0"
# Seconds between drain.deadline and the kubelet's SIGKILL, at the least.
GRACE_MARGIN = 30
# Only these parts of the config may differ between base/turnpike.yaml and
# an overlay's copy; the rest has to be kept in step by hand.
OVERLAY_CONFIG_CHANGES = {
    "hostnetwork": [("relay",), ("metrics", "listen"), ("control", "listen")],
    "loadbalancer": [("relay",)],
}
# Known messages of newer kustomize about fields kept for kubectl 1.20.
DEPRECATION = re.compile(r"'(bases|vars)' is deprecated")


class Problems:
    def __init__(self):
        self.items = []

    def check(self, ok, where, message):
        if not ok:
            self.items.append(f"{where}: {message}")
        return ok


def render(directory):
    """`kubectl kustomize DIR`: the documents, and what it printed on stderr."""
    try:
        run = subprocess.run(
            [KUBECTL, "kustomize", str(directory)],
            capture_output=True, text=True, timeout=120, check=False,
        )
    except FileNotFoundError:
        sys.exit(f"check.py: {KUBECTL} not found (set $KUBECTL)")
    if run.returncode != 0:
        sys.exit(f"check.py: {KUBECTL} kustomize {directory} failed:\n{run.stderr}")
    return list(yaml.safe_load_all(run.stdout)), run.stderr


def duration_seconds(text):
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return int(match.group(1)) * scale


def port_of(listen):
    return int(str(listen).rsplit(":", 1)[1])


def host_of(listen):
    return str(listen).rsplit(":", 1)[0].strip("[]")


def drop(config, path):
    node = config
    for key in path[:-1]:
        node = node.get(key, {})
    node.pop(path[-1], None)


def find(docs, kind, name=None):
    return [d for d in docs if d.get("kind") == kind
            and (name is None or d["metadata"]["name"] == name)]


def turnpike_binary():
    candidate = os.environ.get("TURNPIKE") or str(REPO / "build/relay/app/turnpike")
    return candidate if os.access(candidate, os.X_OK) else None


def check_config_file(problems, where, path):
    binary = turnpike_binary()
    if binary is None:
        return False
    run = subprocess.run([binary, "--check-config", str(path)], capture_output=True,
                         text=True, timeout=30, check=False)
    problems.check(run.returncode == 0, where,
                   f"turnpike --check-config refuses it:\n{run.stdout}{run.stderr}")
    return True


class Layout:
    """One rendered layout: its documents, workload, pod and config."""

    def __init__(self, name, docs, problems):
        self.name = name
        self.docs = docs
        self.p = problems
        workloads = find(docs, "Deployment") + find(docs, "DaemonSet")
        problems.check(len(workloads) == 1, name,
                       f"expected one workload, found {[w['kind'] for w in workloads]}")
        self.workload = workloads[0] if workloads else None
        self.where = f"{name}: {self.workload['kind']}" if self.workload else name
        self.pod = self.workload["spec"]["template"] if self.workload else {}
        self.spec = self.pod.get("spec", {})
        mains = [c for c in self.spec.get("containers", []) if c["name"] == "turnpike"]
        problems.check(len(mains) == 1, self.where, "no container named turnpike")
        self.main = mains[0] if mains else {}
        self.volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        self.secret_name, self.config_text = self.load_config()
        self.config = yaml.safe_load(self.config_text) if self.config_text else {}

    def load_config(self):
        secrets = [d for d in find(self.docs, "Secret")
                   if re.fullmatch(r"turnpike-config-[0-9a-z]{6,}", d["metadata"]["name"])]
        if not self.p.check(len(secrets) == 1, self.name,
                            "expected one generated Secret turnpike-config-<hash> "
                            f"(the config), found {len(secrets)}"):
            return None, ""
        secret = secrets[0]
        text = base64.b64decode(secret["data"]["turnpike.yaml"]).decode()
        return secret["metadata"]["name"], text

    def all_containers(self):
        return self.spec.get("initContainers", []) + self.spec.get("containers", [])

    def volume_holding(self, path):
        """The volume of the main container that `path` is in, and its mount."""
        for m in self.main.get("volumeMounts", []):
            if path.startswith(m["mountPath"].rstrip("/") + "/"):
                return self.volumes.get(m["name"], {}), m
        return None, None

    def mount_of(self, container, volume_name):
        for m in container.get("volumeMounts", []):
            if m["name"] == volume_name:
                return m
        return None


def check_config_source(lay):
    """The config Secret is mounted, hashed into the name and the annotation."""
    p, where = lay.p, lay.where
    annotation = lay.pod.get("metadata", {}).get("annotations", {}).get("checksum/config")
    p.check(annotation == lay.secret_name, where,
            f"pod annotation checksum/config is {annotation!r}, expected the generated "
            f"Secret name {lay.secret_name!r} (kustomize vars not applied?)")
    users = [n for n, v in lay.volumes.items()
             if v.get("secret", {}).get("secretName") == lay.secret_name]
    p.check(len(users) == 1, where, f"no volume of the config Secret {lay.secret_name}")
    if not users:
        return
    mounted_by = [c["name"] for c in lay.all_containers() if lay.mount_of(c, users[0])]
    p.check(mounted_by, where, f"the config volume {users[0]} is mounted by no container")
    args = lay.main.get("args", [])
    if not p.check("--config" in args[:-1], where, f"turnpike args {args} have no --config"):
        return
    config_path = args[args.index("--config") + 1]
    mounts = [m for m in lay.main.get("volumeMounts", [])
              if config_path.startswith(m["mountPath"].rstrip("/") + "/")]
    p.check(mounts, where, f"--config {config_path} is on no volume of the container")
    if mounts and mounts[0]["name"] != users[0]:
        # A rendered copy (hostnetwork): written by an init container that
        # reads the Secret.
        writers = [c["name"] for c in lay.spec.get("initContainers", [])
                   if lay.mount_of(c, mounts[0]["name"]) and lay.mount_of(c, users[0])]
        p.check(writers, where, f"{config_path} is on volume {mounts[0]['name']}, which no "
                "init container fills from the config Secret")


def check_probes_and_stop(lay):
    p, where, c, config = lay.p, lay.where, lay.main, lay.config
    control = config.get("control", {}).get("listen", "127.0.0.1:8088")
    control_port = port_of(control)
    p.check(not host_of(control).startswith("127.") and host_of(control) != "::1", where,
            f"control.listen {control} is loopback: the kubelet's probes cannot reach it")
    named = {port["name"]: port["containerPort"] for port in c.get("ports", []) if "name" in port}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez"),
                        ("startupProbe", None)):
        spec = c.get(probe)
        if spec is None:
            p.check(path is None, where, f"{probe} missing")
            continue
        get = spec.get("httpGet")
        if not p.check(get, where, f"{probe} is not an httpGet probe"):
            continue
        port = named.get(get["port"], get["port"])
        p.check(path is None or get.get("path") == path, where,
                f"{probe} path is {get.get('path')}, expected {path}")
        p.check(get.get("path") in ("/readyz", "/livez", "/healthz"), where,
                f"{probe} path {get.get('path')} is not a turnpike health endpoint")
        p.check(port == control_port, where,
                f"{probe} port {port} is not control.listen's port {control_port}")

    deadline = duration_seconds(config.get("drain", {}).get("deadline", "10m"))
    grace = lay.spec.get("terminationGracePeriodSeconds", 30)
    p.check(grace >= deadline + GRACE_MARGIN, where,
            f"terminationGracePeriodSeconds {grace} < drain.deadline {deadline:g}s "
            f"+ {GRACE_MARGIN}s: the kubelet would kill a draining pod")

    command = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    if p.check(command, where, "no lifecycle.preStop exec command"):
        script = " ".join(command)
        p.check(re.search(r"kill -(TERM|15|s TERM) 1\b", script), where,
                f"preStop does not send SIGTERM to PID 1 (turnpike): {script!r}")
        p.check(re.search(r"while kill -0 1\b", script), where,
                "preStop does not wait for PID 1 to exit; the kubelet's own SIGTERM "
                "would then come as a second one (stop at once)")


def check_security(lay):
    p, where, spec = lay.p, lay.where, lay.spec
    pod_sc = spec.get("securityContext", {})
    p.check(pod_sc.get("runAsNonRoot") is True, where, "pod runAsNonRoot is not true")
    p.check(isinstance(pod_sc.get("runAsUser"), int) and pod_sc["runAsUser"] > 0, where,
            f"pod runAsUser {pod_sc.get('runAsUser')!r} is not a non-zero uid")
    p.check(isinstance(pod_sc.get("runAsGroup"), int) and pod_sc["runAsGroup"] > 0, where,
            f"pod runAsGroup {pod_sc.get('runAsGroup')!r} is not a non-zero gid")
    p.check(spec.get("automountServiceAccountToken") is False, where,
            "automountServiceAccountToken is not false")
    accounts = find(lay.docs, "ServiceAccount", spec.get("serviceAccountName", "default"))
    p.check(accounts and accounts[0].get("automountServiceAccountToken") is False, where,
            f"ServiceAccount {spec.get('serviceAccountName')} missing or mounts its token")
    for c in lay.all_containers():
        cw = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
        p.check(seccomp.get("type") == "RuntimeDefault", cw, "seccompProfile is not RuntimeDefault")
        p.check(sc.get("allowPrivilegeEscalation") is False, cw,
                "allowPrivilegeEscalation is not false")
        p.check(sc.get("readOnlyRootFilesystem") is True, cw, "readOnlyRootFilesystem is not true")
        p.check(sc.get("runAsUser", 1) != 0 and sc.get("runAsNonRoot", True) is True, cw,
                "overrides the pod's non-root user")
        caps = sc.get("capabilities", {})
        p.check("ALL" in caps.get("drop", []), cw, "capabilities.drop lacks ALL")
        added = caps.get("add", [])
        expected = ["NET_BIND_SERVICE"] if c is lay.main else []
        p.check(added in (expected, []) and set(added) <= {"NET_BIND_SERVICE"}, cw,
                f"capabilities.add is {added}, expected {expected}")
        p.check(c.get("image") == IMAGE and c.get("imagePullPolicy") == "IfNotPresent", cw,
                f"image {c.get('image')} ({c.get('imagePullPolicy')}), expected {IMAGE} "
                "(IfNotPresent)")
        res = c.get("resources", {})
        p.check({"cpu", "memory"} <= set(res.get("requests", {})), cw,
                "resources.requests lacks cpu or memory")
        p.check("memory" in res.get("limits", {}), cw, "resources.limits lacks memory")
        for m in c.get("volumeMounts", []):
            p.check("subPath" not in m and "subPathExpr" not in m, cw,
                    f"volume {m['name']} mounted with subPath: updates never reach it")


def check_files(lay):
    """TLS from a whole Secret directory; the store on a writable volume."""
    p, where, config = lay.p, lay.where, lay.config
    tls = config.get("tls", {})
    cert, key = tls.get("certificate", ""), tls.get("private_key", "")
    if not p.check(cert and key, where, "config has no tls.certificate/private_key"):
        return
    p.check(duration_seconds(tls.get("watch_interval", "60s")) > 0, where,
            "tls.watch_interval is 0: a renewed certificate would need a restart")
    for path in (cert, key):
        volume, mount = lay.volume_holding(path)
        if not p.check(mount, where, f"{path} is on no volume"):
            continue
        p.check("secret" in volume, where, f"{path} is not from a Secret volume")
        p.check(os.path.dirname(path) == mount["mountPath"].rstrip("/"), where,
                f"{path} is not directly in the mounted Secret directory")
    store = config.get("store", {}).get("sqlite", {}).get("path", "turnpike.db")
    p.check(store.startswith("/"), where, f"store.sqlite.path {store} is relative: "
            "the working directory is on the read-only root filesystem")
    volume, mount = lay.volume_holding(store)
    p.check(mount and not mount.get("readOnly")
            and ("emptyDir" in volume or "persistentVolumeClaim" in volume),
            where, f"store.sqlite.path {store} is not on a writable volume")


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_pdb_and_services(lay):
    p, where = lay.p, lay.where
    labels = lay.pod.get("metadata", {}).get("labels", {})
    pdbs = find(lay.docs, "PodDisruptionBudget")
    if p.check(pdbs, lay.name, "no PodDisruptionBudget"):
        pdb = pdbs[0]["spec"]
        p.check(selects(pdb.get("selector", {}).get("matchLabels"), labels), lay.name,
                "the PodDisruptionBudget does not select the pods")
        replicas = lay.workload["spec"].get("replicas", 1)
        p.check("maxUnavailable" in pdb or pdb.get("minAvailable", 0) < replicas, lay.name,
                "the PodDisruptionBudget allows no eviction at all (node drains would hang)")
    for svc in find(lay.docs, "Service"):
        p.check(selects(svc["spec"].get("selector"), labels), lay.name,
                f"Service {svc['metadata']['name']} does not select the pods")
    container_ports = {(c["containerPort"], c.get("protocol", "TCP"))
                       for c in lay.main.get("ports", [])}
    for proto, key in (("UDP", "udp"), ("TCP", "tcp"), ("TCP", "tls")):
        for listen in lay.config.get("listen", {}).get(key, []):
            p.check((port_of(listen), proto) in container_ports, where,
                    f"listen.{key} {listen} is not among the container ports")


def check_overlay_config(lay, base_config):
    """An overlay's turnpike.yaml differs from the base's only where it must."""
    mine, base = copy.deepcopy(lay.config), copy.deepcopy(base_config)
    for path in OVERLAY_CONFIG_CHANGES[lay.name]:
        drop(mine, path)
        drop(base, path)
    keys = sorted(k for k in set(mine) | set(base) if mine.get(k) != base.get(k))
    lay.p.check(not keys, lay.name, f"turnpike.yaml differs from base/turnpike.yaml in {keys}; "
                f"only {OVERLAY_CONFIG_CHANGES[lay.name]} may")


def run_render_script(lay, tmp, node_ip, node_name, entry):
    """Runs the hostnetwork init container's script with /bin/sh, as the pod would."""
    init = [c for c in lay.spec.get("initContainers", []) if c["name"] == "render-config"][0]
    command = init["command"]
    template = tmp / "template.yaml"
    template.write_text(lay.config_text)
    nodes = tmp / "nodes"
    shutil.rmtree(nodes, ignore_errors=True)
    nodes.mkdir()
    if entry is not None:
        (nodes / node_name).write_text(entry)
    out = tmp / "turnpike.yaml"
    out.unlink(missing_ok=True)
    # The script ends with `exec turnpike --check-config`: a real binary when
    # there is one, else a stand-in that accepts anything.
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "turnpike"
    shim.unlink(missing_ok=True)
    real = turnpike_binary()
    if real:
        shim.symlink_to(os.path.abspath(real))
    else:
        shim.write_text("#!/bin/sh\necho \"$2: not checked (no turnpike binary)\"\n")
        shim.chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "NODE_IP": node_ip, "NODE_NAME": node_name}
    argv = command[:3] + [command[3], str(template), str(out), str(nodes)]
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    config = yaml.safe_load(out.read_text()) if out.exists() and run.returncode == 0 else None
    return run, config


def check_hostnetwork(lay):
    p, where, spec = lay.p, lay.where, lay.spec
    p.check(lay.workload["kind"] == "DaemonSet", lay.name, "the workload is not a DaemonSet")
    p.check(not find(lay.docs, "Deployment"), lay.name, "a Deployment is still rendered")
    p.check(spec.get("hostNetwork") is True, where, "hostNetwork is not true")
    p.check(spec.get("dnsPolicy") == "ClusterFirstWithHostNet", where,
            "dnsPolicy is not ClusterFirstWithHostNet")
    inits = [c for c in spec.get("initContainers", []) if c["name"] == "render-config"]
    if not p.check(inits, where, "no render-config init container"):
        return
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
           for e in inits[0].get("env", [])}
    p.check(env.get("NODE_IP") == "status.hostIP" and env.get("NODE_NAME") == "spec.nodeName",
            where, f"render-config env is {env}, expected NODE_IP=status.hostIP, "
            "NODE_NAME=spec.nodeName")
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        cases = [
            ("no entry for the node: advertise the node's address", None, "192.0.2.10"),
            ("an entry for the node: advertise it", "203.0.113.21\n", "203.0.113.21"),
        ]
        for label, entry, external in cases:
            run, config = run_render_script(lay, tmp, "192.0.2.10", "node-a", entry)
            if not p.check(run.returncode == 0 and config, where,
                           f"render-config ({label}) failed: {run.stdout}{run.stderr}"):
                continue
            relay = config["relay"]["addresses"][0]
            p.check(relay == {"bind": "192.0.2.10", "external": external}, where,
                    f"render-config ({label}) wrote relay.addresses {relay}")
            p.check(config["control"]["listen"] == "192.0.2.10:8088", where,
                    f"render-config ({label}) wrote control.listen {config['control']['listen']}")
            p.check("@" not in yaml.safe_dump(config), where,
                    f"render-config ({label}) left a placeholder in the config")
        run, _ = run_render_script(lay, tmp, "192.0.2.10", "node-a", "not-an-ip; rm -rf /\n")
        p.check(run.returncode != 0 and "not an IP address" in run.stderr, where,
                "render-config accepted a node entry that is not an IP address")
    if turnpike_binary() is None:
        print(f"  {lay.name}: rendered config not validated: no turnpike binary")


def check_loadbalancer(lay):
    p = lay.p
    services = [s for s in find(lay.docs, "Service") if s["spec"].get("type") == "LoadBalancer"]
    if not p.check(len(services) == 1, lay.name, "expected one Service of type LoadBalancer"):
        return
    svc = services[0]["spec"]
    p.check(svc.get("externalTrafficPolicy") == "Local", lay.name,
            "the LoadBalancer Service's externalTrafficPolicy is not Local")
    ports = {(x["port"], x.get("protocol", "TCP")): x.get("targetPort", x["port"])
             for x in svc["ports"]}
    for want in ((3478, "UDP"), (3478, "TCP"), (5349, "TCP")):
        p.check(ports.get(want) == want[0], lay.name, f"LoadBalancer lacks {want[0]}/{want[1]}")
    relay = lay.config.get("relay", {})
    low, high = relay["ports"]["min"], relay["ports"]["max"]
    listed = sorted(port for (port, proto) in ports if proto == "UDP" and port != 3478)
    p.check(listed == list(range(low, high + 1)), lay.name,
            f"the LoadBalancer's UDP relay ports are not exactly relay.ports {low}-{high} "
            "(run gen-relay-ports.py)")
    p.check(all(ports[(port, "UDP")] == port for port in listed), lay.name,
            "a relay port's targetPort differs from its port")
    addresses = relay.get("addresses", [])
    p.check(addresses and addresses[0].get("external"), lay.name,
            "relay.addresses has no external (the load balancer's address)")
    if addresses and addresses[0].get("external"):
        try:
            ipaddress.ip_address(addresses[0]["external"])
        except ValueError:
            p.check(False, lay.name, f"relay external {addresses[0]['external']} is not an IP")
    p.check(lay.workload["spec"].get("replicas") == 1, lay.name,
            "more than one replica behind one load balancer address: relay ports collide")


def check_extras(problems, hostnetwork_dir):
    """The README's recipe: an overlay plus extras, in a namespace."""
    with tempfile.TemporaryDirectory() as t:
        # kustomize v2 refuses absolute paths in bases.
        bases = [os.path.relpath(d, t) for d in (hostnetwork_dir, HERE / "extras")]
        pathlib.Path(t, "kustomization.yaml").write_text(
            "namespace: turnpike\nbases:\n" + "".join(f"  - {b}\n" for b in bases))
        docs, stderr = render(t)
    report_stderr("extras", stderr)
    docs = [d for d in docs if d]
    where = "extras (hostnetwork + extras)"
    lay = Layout("extras", docs, problems)
    certs = find(docs, "Certificate")
    volume, _ = lay.volume_holding(lay.config.get("tls", {}).get("certificate", "/"))
    tls = (volume or {}).get("secret", {}).get("secretName")
    if problems.check(certs, where, "no cert-manager Certificate"):
        problems.check(certs[0]["spec"].get("secretName") == tls, where,
                       f"the Certificate writes {certs[0]['spec'].get('secretName')}, "
                       f"the pods mount {tls}")
    monitors = find(docs, "ServiceMonitor")
    if problems.check(monitors, where, "no ServiceMonitor"):
        mon = monitors[0]["spec"]
        port = mon["endpoints"][0]["port"]
        matched = [s for s in find(docs, "Service")
                   if selects(mon["selector"].get("matchLabels"), s["metadata"].get("labels", {}))
                   and any(x.get("name") == port for x in s["spec"]["ports"])]
        problems.check(matched, where, "the ServiceMonitor matches no Service with its port")
    problems.check(all(d["metadata"].get("namespace") == "turnpike" for d in docs), where,
                   "not every object is in the kustomization's namespace")


def report_stderr(name, stderr):
    for line in stderr.splitlines():
        if line.strip():
            known = " (expected: kept for kubectl 1.20)" if DEPRECATION.search(line) else ""
            print(f"  {name}: {KUBECTL} says: {line.strip()}{known}")


def main():
    names = sys.argv[1:] or ["base", "hostnetwork", "loadbalancer", "extras"]
    unknown = set(names) - set(LAYOUTS) - {"extras"}
    if unknown:
        sys.exit(f"usage: check.py [{'|'.join(list(LAYOUTS) + ['extras'])} ...]; "
                 f"unknown {sorted(unknown)}")
    problems = Problems()
    base_config = None
    for name in names:
        if name == "extras":
            continue
        docs, stderr = render(LAYOUTS[name])
        report_stderr(name, stderr)
        problems.check(all(d for d in docs), name, "the output has an empty document")
        lay = Layout(name, [d for d in docs if d], problems)
        if lay.workload is None or lay.config is None:
            continue
        check_config_source(lay)
        check_probes_and_stop(lay)
        check_security(lay)
        check_files(lay)
        check_pdb_and_services(lay)
        if name == "hostnetwork":
            check_hostnetwork(lay)
        elif name == "loadbalancer":
            check_loadbalancer(lay)
        if name != "hostnetwork":
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(lay.config_text)
                f.flush()
                if not check_config_file(problems, name, f.name):
                    print(f"  {name}: config not validated: no turnpike binary")
        if name in OVERLAY_CONFIG_CHANGES:
            if base_config is None:
                base_config = yaml.safe_load((HERE / "base" / "turnpike.yaml").read_text())
            check_overlay_config(lay, base_config)
        print(f"  {name}: checked ({lay.workload['kind']}, {len(docs)} objects)")
    if "extras" in names:
        check_extras(problems, LAYOUTS["hostnetwork"])
        print("  extras: checked")
    if problems.items:
        print(f"FAIL: {len(problems.items)} problem(s) with {KUBECTL}:", file=sys.stderr)
        for item in problems.items:
            print(f"  - {item}", file=sys.stderr)
        sys.exit(1)
    print(f"OK: {', '.join(names)} with {KUBECTL}")


if __name__ == "__main__":
    main()
