#!/usr/bin/python3
"""The real server with its kernel fast path, in two network namespaces.

    outside ns  c0 10.78.1.2 ==veth== r0 10.78.1.1:3478  relay ns (turnpike)
                p0 10.78.2.2 ==veth== r1 10.78.2.1 (relay addresses)

Clients and peers live in the outside namespace on separate links, so every
relayed packet crosses the relay namespace's interfaces, where the program
sits at TC ingress. The senders' veth ends have tx checksum offload off (as
a NIC hands up full checksums; see the README for CHECKSUM_PARTIAL).

  1. SRTP load (turnpike-loadgen: 20 clients, 4,000 packets each way,
     every packet checked byte for byte) with relay.fast_path on, off, and
     auto in a process without CAP_BPF/CAP_NET_ADMIN/CAP_SYS_ADMIN: zero
     loss, duplicates, reordering and corruption; the relay metrics and the
     usage records (allocation.deleted lines) equal what arrived; with the
     fast path on, every packet crossed in the kernel. Once more with the
     load generator's peer echoing in the kernel (--kernel-echo, as
     benchmarks/compare uses it), which must count and return every packet
     unchanged and take its program away when it ends.
     With the fast path on, the program taken off both interfaces in the
     middle of the load (tc filter del): user space relays the rest, with
     the same zero loss and exact counts.
  2. With the fast path on, each way a channel leaves the kernel stops it at
     once: the allocation deleted (Refresh 0), a kick (DELETE
     /admin/allocations?user=), and a drain (SIGTERM, then the deadline):
     nothing reaches the peer after it, and user space counts the drops;
     and a call that ends (POST /v1/calls/{id}/end), whose call-bound TURN
     credentials the allocation was made with.
  3. Malformed ChannelData on a bound channel (short, a length over the
     datagram, an unbound channel number) is never relayed.
  4. A server killed with SIGKILL leaves its filter relaying; the next start
     removes it before anything else.
Expiries of permissions and channels are checked where the clock can be
moved (tests/unit/turn/kernel_channels_test.cc) and in the kernel itself
(channel_data_test.py, part f).

Usage (as root): relay_fast_path_test.py TURNPIKE LOADGEN
Exit 0 all passed, 1 a failure, 77 skipped (not root, or no BPF here).
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
from turn_udp import Client, TurnError, channel_data, rest_credentials  # noqa: E402

TURNPIKE, LOADGEN = sys.argv[1:3] if len(sys.argv) >= 3 else ("", "")
SUFFIX = str(os.getpid())
OUT, RLY = f"tpfr-out-{SUFFIX}", f"tpfr-rly-{SUFFIX}"
CLIENT_IP, PEER_IP = "10.78.1.2", "10.78.2.2"
SERVER = ("10.78.1.1", 3478)
CLIENT6_IP, PEER6_IP, RELAY6_IP = "fd78:1::2", "fd78:2::2", "fd78:2::1"
SERVER6 = ("fd78:1::1", 3478)
METRICS = ("127.0.0.1", 9641)
CONTROL = ("127.0.0.1", 8088)
SECRET = "fast-path-secret"
TOKEN = "fast-path-admin-token"
API = ("127.0.0.1", 8443)
USER_SECRET = "fast-path-user-token-secret"
CLIENTS, PPS, SECONDS = 20, 100, 2

failures = []
work = tempfile.mkdtemp(prefix="tpfr-")


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + (f" ({detail})" if detail else ""), flush=True)
    if not ok:
        failures.append(name)
    return ok


class Server:
    """turnpike in the relay namespace, started by us and stopped by PID."""

    def __init__(self, mode, privileged=True, label="", calls=False, ipv6=False):
        self.label = label or mode
        self.config = os.path.join(work, f"{self.label}.yaml")
        self.log_path = os.path.join(work, f"{self.label}.log")
        with open(self.config, "w") as f:
            f.write(f"""listen:
  udp: ["{SERVER[0]}:{SERVER[1]}"{f', "[{SERVER6[0]}]:{SERVER6[1]}"' if ipv6 else ""}]
  tcp: []
  tls: []
realm: example.org
auth:
  rest_secrets: ["{SECRET}"]
relay:
  workers: 1
  addresses: [{{bind: 10.78.2.1}}{f', {{bind: "{RELAY6_IP}"}}' if ipv6 else ""}]
  ports: {{min: 50000, max: 50999}}
  peers: {{allow: ["10.78.2.0/24"{', "fd78:2::/64"' if ipv6 else ""}]}}
  fast_path: {mode}
limits:
  allocations_per_user: 1000
  unauthenticated_per_second: 0
metrics:
  listen: "{METRICS[0]}:{METRICS[1]}"
control:
  listen: "{CONTROL[0]}:{CONTROL[1]}"
  admin_token: "{TOKEN}"
drain:
  deadline: 2s
api:
  listen: [{'"%s:%d"' % API if calls else ''}]
  tls: false
  user_tokens: {{hs256_secrets: ["{USER_SECRET}"]}}
store:
  sqlite: {{path: "{os.path.join(work, self.label + '.db')}"}}
log:
  level: info
  format: json
""")
        cmd = ["ip", "netns", "exec", RLY]
        if not privileged:  # root, but without what BPF and tc need
            cmd += ["setpriv", "--bounding-set=-bpf,-net_admin,-sys_admin,-perfmon",
                    "--inh-caps=-all"]
        cmd += [TURNPIKE, "--config", self.config]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.metrics()
                return
            except (OSError, RuntimeError):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"turnpike ({self.label}) did not start:\n{self.text()}")

    def metrics(self):
        return netns.metrics(RLY, METRICS)

    def metrics_when(self, ready, timeout=5.0):
        """The metrics once `ready` holds (workers publish about once a
        second), or as they are at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics()
            if ready(m) or time.monotonic() > deadline:
                return m
            time.sleep(0.1)

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def events(self, name):
        out = []
        for line in self.text().splitlines():
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if j.get("event") == name:
                out.append(j)
        return out

    def stop(self, sig=signal.SIGINT, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)  # our own child, by its Popen handle
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            return "killed"
        finally:
            self.log.close()

    def wait_allocations(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.metrics().get('turnpike_allocations_active{transport="udp"}') == n:
                return True
            time.sleep(0.1)
        return False


def sample(m, name, **labels):
    key = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    return m.get(key, 0.0) if labels else m.get(name, 0.0)


def filters():
    return "".join(netns.sh("tc", "filter", "show", "dev", dev, "ingress", ns=RLY,
                            check_rc=False) for dev in ("r0", "r1"))


# --- 1. SRTP load --------------------------------------------------------

def detach_midway(server):
    """Takes the program off both interfaces (as `tc filter del` by an
    operator would) once the kernel has relayed a second of the load."""
    relayed = 'turnpike_fast_path_packets_total{verdict="relayed_to_client"}'
    server.metrics_when(lambda m: m.get(relayed, 0) >= CLIENTS * PPS)
    for dev in ("r0", "r1"):
        netns.sh("tc", "filter", "del", "dev", dev, "ingress", ns=RLY, check_rc=False)
    return "bpf" not in filters()


def load(mode, privileged=True, kernel_echo=False, detach=False):
    label = mode if privileged else f"{mode}-unprivileged"
    label += "-kernel-echo" if kernel_echo else ""
    label += "-detached" if detach else ""
    server = Server(mode, privileged, label)
    try:
        result = os.path.join(work, f"{label}.json")
        seconds = SECONDS * 2 if detach else SECONDS
        gen = subprocess.Popen(
            ["ip", "netns", "exec", OUT, "timeout", "120", LOADGEN, "--server",
             f"{SERVER[0]}:{SERVER[1]}", "--bind", CLIENT_IP, "--sink", f"{PEER_IP}:0",
             "--secret", SECRET, "--clients", str(CLIENTS), "--pps", str(PPS), "--size", "172",
             "--duration", str(seconds), "--echo", "--json", result]
            + (["--kernel-echo", "p0"] if kernel_echo else []),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if detach:
            check(f"{label}: the program taken off both interfaces while relaying",
                  detach_midway(server))
        try:
            out, _ = gen.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            gen.kill()  # our own child, by its Popen handle
            out, _ = gen.communicate()
        if not check(f"{label}: the load generator ran", gen.returncode == 0 and
                     os.path.exists(result), out[-800:]):
            return
        r = json.load(open(result))["runs"][-1]
        to_peer, echoed = r["to_peer"], r["echoed"]
        check(f"{label}: {r['sent']} SRTP packets to the peers, all byte-exact, in order, once",
              r["sent"] >= CLIENTS * PPS * seconds * 0.9 and to_peer["received"] == r["sent"]
              and to_peer["lost"] == 0 and to_peer["duplicates"] == 0
              and to_peer["reordered"] == 0 and to_peer["corrupted"] == 0, json.dumps(to_peer))
        check(f"{label}: all echoed back likewise", echoed["received"] == to_peer["received"]
              and echoed["lost"] == 0 and echoed["duplicates"] == 0
              and echoed["reordered"] == 0 and echoed["corrupted"] == 0, json.dumps(echoed))
        check(f"{label}: every allocation deleted", server.wait_allocations(0))
        m = server.metrics()
        up = sample(m, "turnpike_relay_packets_total", direction="client_to_peer", transport="udp")
        down = sample(m, "turnpike_relay_packets_total", direction="peer_to_client",
                      transport="udp")
        check(f"{label}: turnpike_relay_packets_total equals what arrived",
              up == to_peer["received"] and down == echoed["received"],
              f"metrics {up:.0f}/{down:.0f}, arrived {to_peer['received']}/{echoed['received']}")
        deleted = server.events("allocation.deleted")
        usage = {k: sum(e.get(k, 0) for e in deleted)
                 for k in ("packets_client_to_peer", "packets_peer_to_client",
                           "bytes_client_to_peer", "bytes_peer_to_client")}
        up_bytes = sample(m, "turnpike_relay_bytes_total", direction="client_to_peer",
                          transport="udp")
        down_bytes = sample(m, "turnpike_relay_bytes_total", direction="peer_to_client",
                            transport="udp")
        check(f"{label}: the usage records add up to the same packets and bytes",
              len(deleted) == CLIENTS and usage["packets_client_to_peer"] == up
              and usage["packets_peer_to_client"] == down
              and usage["bytes_client_to_peer"] == up_bytes
              and usage["bytes_peer_to_client"] == down_bytes and up_bytes > 0,
              f"{len(deleted)} records, {usage}, metrics bytes {up_bytes:.0f}/{down_bytes:.0f}")
        kernel_up = sample(m, "turnpike_fast_path_packets_total", verdict="relayed_to_peer")
        kernel_down = sample(m, "turnpike_fast_path_packets_total", verdict="relayed_to_client")
        kernel_bytes = (sample(m, "turnpike_fast_path_relayed_bytes_total",
                               direction="client_to_peer") +
                        sample(m, "turnpike_fast_path_relayed_bytes_total",
                               direction="peer_to_client"))
        enabled = sample(m, "turnpike_fast_path_enabled")
        if detach:
            check(f"{label}: the kernel relayed the first part, user space the rest",
                  enabled == 1 and 0 < kernel_up < up and 0 < kernel_down < down,
                  f"kernel {kernel_up:.0f}/{kernel_down:.0f} of {up:.0f}/{down:.0f}")
        elif mode == "on":
            check(f"{label}: every packet crossed in the kernel",
                  enabled == 1 and kernel_up == up and kernel_down == down
                  and kernel_bytes == up_bytes + down_bytes
                  and sample(m, "turnpike_fast_path_flow_installs_total",
                             result="installed") == CLIENTS,
                  f"kernel {kernel_up:.0f}/{kernel_down:.0f} of {up:.0f}/{down:.0f}")
            check(f"{label}: no flow left in the kernel", sample(m, "turnpike_fast_path_flows") == 0)
        else:
            check(f"{label}: the fast path is off and user space relayed it all",
                  enabled == 0 and kernel_up == 0 and kernel_bytes == 0, f"enabled {enabled}")
            if not privileged:
                check(f"{label}: one log line says why",
                      "fast path: off, the kernel refused" in server.text(),
                      [l for l in server.text().splitlines() if "fast path" in l][:2])
    finally:
        rc = server.stop()
    check(f"{label}: stopped cleanly, no filter left", rc == 0 and "bpf" not in filters(),
          f"exit {rc}")
    if kernel_echo:
        left = netns.sh("tc", "filter", "show", "dev", "p0", "ingress", ns=OUT, check_rc=False)
        check(f"{label}: the load generator took its echo program away", "bpf" not in left, left)


# --- 2 and 3. Lifecycle --------------------------------------------------

class Side:
    """One client socket and one peer socket in the outside namespace."""

    def __init__(self, user, credentials=None, client_ipv6=False, relay_ipv6=False):
        """Over IPv4, or with `client_ipv6` the client and with `relay_ipv6`
        the relayed address and the peer over IPv6."""
        v4, v6 = socket.AF_INET, socket.AF_INET6
        self.peer = netns.socket_in(OUT, family=v6 if relay_ipv6 else v4)
        self.peer.bind((PEER6_IP if relay_ipv6 else PEER_IP, 0))
        self.peer.setblocking(False)
        sock = netns.socket_in(OUT, family=v6 if client_ipv6 else v4)
        sock.bind((CLIENT6_IP if client_ipv6 else CLIENT_IP, 0))
        username, password = credentials or rest_credentials(SECRET, user)
        self.client = Client(sock, SERVER6 if client_ipv6 else SERVER, username, password)
        self.client.allocate(ipv6=relay_ipv6)
        self.client.channel_bind(0x4001, self.peer.getsockname()[:2])

    def at_peer(self, wait=0.3):
        time.sleep(wait)
        got = []
        while True:
            try:
                got.append(self.peer.recv(65536))
            except BlockingIOError:
                return got

    def send(self, payloads, channel=0x4001):
        for p in payloads:
            self.client.send_raw(channel_data(channel, p))

    def close(self):
        self.client.sock.close()
        self.peer.close()


def lifecycle():
    server = Server("on", label="lifecycle")
    payloads = [b"media %03d" % i for i in range(20)]
    try:
        # Deleted by the client.
        side = Side("deleted")
        k0 = sample(server.metrics(), "turnpike_fast_path_packets_total",
                    verdict="relayed_to_peer")
        side.send(payloads)
        got = side.at_peer()
        k1 = sample(server.metrics_when(lambda m: sample(
            m, "turnpike_fast_path_packets_total", verdict="relayed_to_peer") >= k0 + 20),
            "turnpike_fast_path_packets_total", verdict="relayed_to_peer")
        check("bound: the peer gets ChannelData's payloads, relayed in the kernel",
              got == payloads and k1 - k0 == len(payloads), f"{len(got)}, kernel {k1 - k0:.0f}")

        # 3. Malformed on the bound channel: never relayed.
        # (Padding under the length is legal over UDP: user space decides that one.)
        for what, datagram in (("short", b"\x40\x01\x00"),
                               ("length over the datagram", channel_data(0x4001, b"x" * 10, 100)),
                               ("unbound channel", channel_data(0x4FFF, b"not bound"))):
            side.client.send_raw(datagram)
            check(f"malformed ({what}): not relayed", side.at_peer() == [])
        m = server.metrics_when(lambda m: sample(m, "turnpike_dropped_packets_total",
                                                 reason="no_permission") >= 1)
        check("malformed: counted by user space",
              sample(m, "turnpike_dropped_packets_total", reason="malformed") >= 2
              and sample(m, "turnpike_dropped_packets_total", reason="no_permission") >= 1,
              {k: v for k, v in m.items() if k.startswith("turnpike_dropped_packets_total")})

        side.client.refresh(0)
        side.send(payloads)
        m = server.metrics_when(lambda m: sample(m, "turnpike_fast_path_flows") == 0)
        check("deleted (Refresh 0): nothing reaches the peer after it",
              side.at_peer() == [] and sample(m, "turnpike_fast_path_flows") == 0)
        m = server.metrics_when(lambda m: sample(m, "turnpike_dropped_packets_total",
                                                 reason="no_allocation") >= len(payloads))
        check("deleted: user space drops and counts what still comes",
              sample(m, "turnpike_dropped_packets_total", reason="no_allocation")
              >= len(payloads),
              {k: v for k, v in m.items() if "dropped" in k or "fast_path_packets" in k})
        side.close()

        # Kicked by the operator.
        side = Side("kicked")
        side.send(payloads[:5])
        check("kick: relayed before", side.at_peer() == payloads[:5])
        status, body = netns.http(RLY, CONTROL, "DELETE", "/admin/allocations?user=kicked",
                                  {"Authorization": f"Bearer {TOKEN}"})
        check("kick: the admin API deleted it", status == 200 and '"deleted":1' in body,
              f"{status} {body}")
        side.send(payloads)
        check("kick: nothing reaches the peer after it", side.at_peer() == [])
        side.close()

        # Drained: SIGTERM, the deadline (2 s), then the process ends.
        side = Side("drained")
        side.send(payloads[:5])
        check("drain: relayed before", side.at_peer() == payloads[:5])
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        try:
            rc = server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = "still running"
        took = time.monotonic() - started
        side.send(payloads)
        check("drain: the server ended at the deadline and nothing relays after it",
              rc == 0 and side.at_peer() == [] and "bpf" not in filters(),
              f"exit {rc} after {took:.1f} s")
        deleted = [e for e in server.events("allocation.deleted") if e.get("user") == "drained"]
        check("drain: the allocation's usage record counts what the kernel relayed",
              len(deleted) == 1 and deleted[0].get("packets_client_to_peer") == 5,
              json.dumps(deleted))
        side.close()
    except TurnError as e:
        check("lifecycle: TURN exchange", False, str(e))
    finally:
        server.stop()


def user_token(user):
    """An HS256 user token (RFC 7519) as the app's backend would sign it."""
    def b64(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=")
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"sub": user, "exp": int(time.time()) + 600}).encode())
    mac = hmac.new(USER_SECRET.encode(), head + b"." + claims, hashlib.sha256).digest()
    return (head + b"." + claims + b"." + b64(mac)).decode()


def api(method, path, user, body):
    status, text = netns.http(RLY, API, method, path,
                              {"Authorization": f"Bearer {user_token(user)}"}, body=body)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"raw": text}


def event_socket(user, device):
    """A device's WebSocket (RFC 6455) on /v1/events, after hello.ok: what
    makes a callee reachable, so the call rings instead of ending."""
    s = netns.socket_in(RLY, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(API)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /v1/events?access_token={user_token(user)} HTTP/1.1\r\n"
               f"Host: {API[0]}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"no upgrade: {head[:200]!r}")
    text = json.dumps({"event": "hello", "deviceId": device, "foreground": True}).encode()
    mask = os.urandom(4)
    assert len(text) < 126
    s.sendall(bytes([0x81, 0x80 | len(text)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(text)))
    answer = head.split(b"\r\n\r\n", 1)[1]
    while b"hello.ok" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("the socket closed before hello.ok")
        answer += chunk
    return s


def revoked_call():
    """A call that ends takes its allocations' channels out of the kernel."""
    server = Server("on", label="revoked", calls=True)
    payloads = [b"call media %03d" % i for i in range(20)]
    try:
        for user, device in (("alice", "dev-a"), ("bob", "dev-b")):
            status, body = api("POST", "/v1/devices/register", user,
                               {"deviceId": device, "platform": "android"})
            check(f"revoked call: {user}'s device registered", status == 200, f"{status} {body}")
        bob = event_socket("bob", "dev-b")
        status, call = api("POST", "/v1/calls", "alice",
                           {"deviceId": "dev-a", "callees": ["bob"], "type": "audio"})
        if not check("revoked call: created and ringing, with TURN credentials",
                     status == 201 and "turn" in call
                     and call.get("call", {}).get("state") == "ringing", f"{status} {call}"):
            return
        side = Side("alice", (call["turn"]["username"], call["turn"]["password"]))
        k0 = sample(server.metrics(), "turnpike_fast_path_packets_total",
                    verdict="relayed_to_peer")
        side.send(payloads[:5])
        got = side.at_peer()
        m = server.metrics_when(lambda m: sample(
            m, "turnpike_fast_path_packets_total", verdict="relayed_to_peer") >= k0 + 5)
        check("revoked call: relayed in the kernel while the call lives",
              got == payloads[:5] and sample(m, "turnpike_fast_path_packets_total",
                                             verdict="relayed_to_peer") - k0 == 5)
        status, body = api("POST", f"/v1/calls/{call['call']['callId']}/end", "alice",
                           {"deviceId": "dev-a"})
        check("revoked call: ended", status == 200, f"{status} {body}")
        time.sleep(1.0)  # the bound the issue sets: within a second
        side.send(payloads)
        got = side.at_peer()
        m = server.metrics_when(lambda m: sample(m, "turnpike_fast_path_flows") == 0)
        check("revoked call: nothing reaches the peer a second after the end, no flow left",
              got == [] and sample(m, "turnpike_fast_path_flows") == 0, f"{len(got)} arrived")
        deleted = [e for e in server.events("allocation.deleted")
                   if e.get("reason") == "call_ended"]
        check("revoked call: the usage record says call_ended and counts the kernel's 5",
              len(deleted) == 1 and deleted[0].get("packets_client_to_peer") == 5,
              json.dumps(deleted))
        side.close()
        bob.close()
    except (TurnError, RuntimeError, OSError) as e:
        check("revoked call: exchanges", False, str(e))
    finally:
        server.stop()


def exchange(sender, destination, datagrams, receiver, burst=50):
    """Sends in bursts, reading each burst back at `receiver` before the
    next; what arrived, in order."""
    receiver.setblocking(False)
    got = []
    for start in range(0, len(datagrams), burst):
        for d in datagrams[start:start + burst]:
            sender.sendto(d, destination)
        want = min(len(datagrams), start + burst)
        deadline = time.monotonic() + 2.0
        while len(got) < want and time.monotonic() < deadline:
            try:
                got.append(receiver.recv(65536))
            except BlockingIOError:
                time.sleep(0.001)
    return got


def ipv6():
    """IPv6 clients, relayed addresses and peers relay in the kernel like
    IPv4; an IPv4 client with an IPv6 relayed address (RFC 6156, a
    translation the program does not do) stays in user space."""
    server = Server("on", label="ipv6", ipv6=True)
    n = 1000
    payloads = [b"v6 media %04d " % i + bytes(i % 300) for i in range(n)]
    kernel = {d: ("turnpike_fast_path_packets_total", {"verdict": f"relayed_to_{d}"})
              for d in ("peer", "client")}

    def relayed(m, d):
        name, labels = kernel[d]
        return sample(m, name, **labels)
    try:
        side = Side("six", client_ipv6=True, relay_ipv6=True)
        check("ipv6: Allocate over IPv6 gives an IPv6 relayed address",
              side.client.relayed[0] == RELAY6_IP, str(side.client.relayed))
        m0 = server.metrics()
        got = exchange(side.client.sock, SERVER6, [channel_data(0x4001, p) for p in payloads],
                       side.peer)
        m = server.metrics_when(lambda m: relayed(m, "peer") >= relayed(m0, "peer") + n)
        check(f"ipv6: {n} ChannelData to the peer, byte-exact, in order, all in the kernel",
              got == payloads and relayed(m, "peer") - relayed(m0, "peer") == n,
              f"{len(got)} arrived, kernel {relayed(m, 'peer') - relayed(m0, 'peer'):.0f}")
        got = exchange(side.peer, side.client.relayed, payloads, side.client.sock)
        m = server.metrics_when(lambda m: relayed(m, "client") >= relayed(m0, "client") + n)
        check(f"ipv6: {n} peer datagrams to the client as exact ChannelData, all in the kernel",
              got == [channel_data(0x4001, p) for p in payloads]
              and relayed(m, "client") - relayed(m0, "client") == n,
              f"{len(got)} arrived, kernel {relayed(m, 'client') - relayed(m0, 'client'):.0f}")
        side.client.sock.setblocking(True)
        side.client.refresh(0)
        side.send(payloads[:20])
        m = server.metrics_when(lambda m: sample(m, "turnpike_fast_path_flows") == 0)
        check("ipv6: deleted (Refresh 0), nothing reaches the peer after it, no flow left",
              side.at_peer() == [] and sample(m, "turnpike_fast_path_flows") == 0)
        deleted = [e for e in server.events("allocation.deleted") if e.get("user") == "six"]
        size = sum(len(p) for p in payloads)
        check("ipv6: the usage record counts what the kernel relayed",
              len(deleted) == 1 and deleted[0].get("packets_client_to_peer") == n
              and deleted[0].get("packets_peer_to_client") == n
              and deleted[0].get("bytes_client_to_peer") == size
              and deleted[0].get("bytes_peer_to_client") == size, json.dumps(deleted))
        side.close()

        # IPv4 client, IPv6 relayed address and peer: user space relays it.
        m0 = server.metrics()
        side = Side("mixed", relay_ipv6=True)
        got = exchange(side.client.sock, SERVER, [channel_data(0x4001, p) for p in payloads[:100]],
                       side.peer)
        def refused(m):
            return sample(m, "turnpike_fast_path_flow_installs_total", result="refused")
        m = server.metrics_when(lambda m: refused(m) > refused(m0))
        check("ipv6: an IPv4 client with an IPv6 relayed address relays in user space",
              got == payloads[:100] and relayed(m, "peer") == relayed(m0, "peer")
              and refused(m) == refused(m0) + 1,
              f"{len(got)} arrived, kernel {relayed(m, 'peer') - relayed(m0, 'peer'):.0f}, "
              f"refused {refused(m) - refused(m0):.0f}")
        side.close()
    except (TurnError, OSError) as e:
        check("ipv6: TURN exchanges", False, str(e))
    finally:
        server.stop()
    check("ipv6: no filter left", "bpf" not in filters())


def leftover():
    """A server killed outright leaves its filter (and flows) in the kernel;
    the next one takes them off at start, before relaying anything."""
    server = Server("on", label="killed")
    side = Side("killed")
    payloads = [b"before %d" % i for i in range(5)]
    side.send(payloads)
    check("leftover: relayed in the kernel before the kill", side.at_peer() == payloads)
    server.stop(signal.SIGKILL)
    side.send(payloads)
    check("leftover: a SIGKILL leaves the filter, still relaying (why the next start cleans up)",
          "bpf" in filters() and side.at_peer() == payloads)
    server = Server("on", label="restarted")
    try:
        side.send(payloads)
        check("leftover: the next start removed it; nothing of the old flows relays",
              "bpf" not in filters() and side.at_peer() == []
              and "earlier process left attached" in server.text())
    finally:
        server.stop()
        side.close()


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, BPF)")
        return 77
    for path in (TURNPIKE, LOADGEN):
        if not os.access(path, os.X_OK):
            print(f"SKIP: no executable {path!r}")
            return 77
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the namespaces go
    try:
        for ns in (OUT, RLY):
            netns.add(ns, ipv6=True)
        netns.veth(OUT, "c0", f"{CLIENT_IP}/24", RLY, "r0", f"{SERVER[0]}/24")
        netns.veth(OUT, "p0", f"{PEER_IP}/24", RLY, "r1", "10.78.2.1/24")
        for ns, dev, addr in ((OUT, "c0", CLIENT6_IP), (RLY, "r0", SERVER6[0]),
                              (OUT, "p0", PEER6_IP), (RLY, "r1", RELAY6_IP)):
            netns.sh("ip", "-n", ns, "addr", "add", f"{addr}/64", "dev", dev, "nodad")
        for dev in ("c0", "p0"):
            netns.sh("ethtool", "-K", dev, "tx", "off", ns=OUT)
    except (RuntimeError, OSError) as e:
        print(f"SKIP: cannot make network namespaces: {e}")
        return 77
    try:
        probe = Server("on", label="probe")
        probe.stop()
    except RuntimeError as e:
        print(f"SKIP: the kernel or the privileges refuse the program here: {e}")
        return 77
    try:
        parts = os.environ.get("FAST_PATH_PARTS",
                               "on off auto detach echo lifecycle revoked ipv6 leftover").split()
        if "on" in parts:
            load("on")
        if "detach" in parts:
            # An operator's `tc filter del` in the middle of a call: user
            # space takes over without a lost packet.
            load("on", detach=True)
        if "echo" in parts:
            # The benchmark's peer (turnpike-loadgen --kernel-echo): the
            # echo in the kernel counts and returns every packet unchanged.
            load("on", kernel_echo=True)
        if "off" in parts:
            load("off")
        if "auto" in parts:
            load("auto", privileged=False)
        if "lifecycle" in parts:
            lifecycle()
        if "revoked" in parts:
            revoked_call()
        if "ipv6" in parts:
            ipv6()
        if "leftover" in parts:
            leftover()
    finally:
        for ns in (OUT, RLY):
            netns.remove(ns)
    print("ALL PASS" if not failures else f"{len(failures)} FAILED: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
