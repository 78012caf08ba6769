"""Network namespaces for the fast path tests: made and removed by the test,
with sockets created inside them (a socket keeps the namespace it was made
in), so one test process can stand on both sides of the relay."""
import ctypes
import json
import os
import socket
import subprocess

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*args, ns=None, check_rc=True, timeout=20):
    """Runs a command (inside `ns` if given); its stdout."""
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check_rc and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")
    return done.stdout


def add(ns, ipv6=False):
    sh("ip", "netns", "add", ns)
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    if ipv6:
        # Addresses usable at once (no duplicate address detection), no
        # router solicitations: the only chatter left is ICMPv6, which no
        # relay counter counts.
        for key in ("accept_dad=0", "router_solicitations=0", "accept_ra=0"):
            for conf in ("all", "default"):
                sh("sysctl", "-qw", f"net.ipv6.conf.{conf}.{key}", ns=ns)
        return
    # No IPv6 chatter (router solicitations, MLD): verdict counts stay exact.
    sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
    sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)


def remove(ns):
    subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def veth(ns_a, dev_a, addr_a, ns_b, dev_b, addr_b):
    """A veth pair made straight inside the namespaces (fixed device names
    cannot clash with another run), addressed and up."""
    sh("ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns",
       ns_b)
    for ns, dev, addr in ((ns_a, dev_a, addr_a), (ns_b, dev_b, addr_b)):
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")


def socket_in(ns, kind=socket.SOCK_DGRAM, family=socket.AF_INET):
    """A socket (IPv4 unless `family` says) made inside namespace `ns`."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        try:
            return socket.socket(family, kind)
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(home)
        os.close(target)


def http(ns, address, method, path, headers=None, timeout=5.0, body=None):
    """One HTTP/1.0 exchange with a server inside `ns`: (status, body).
    `body`, when given, is sent as JSON."""
    s = socket_in(ns, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(address)
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.0", f"Host: {address[0]}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body.decode(errors="replace")


def metrics(ns, address):
    """Prometheus samples as {'name{labels}': value}."""
    status, body = http(ns, address, "GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out
