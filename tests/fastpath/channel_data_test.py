#!/usr/bin/python3
"""The eBPF ChannelData fast path, end to end, in three network namespaces.

    client ns  c0 10.77.1.2 ==veth== r0 10.77.1.1  relay ns  r1 10.77.2.1 ==veth== p0 10.77.2.2  peer ns
                                                                                  (and 10.77.2.3)
    and the same over IPv6: fd77:1::2, fd77:1::1, fd77:2::1, fd77:2::2 (and fd77:2::3).

fast_path_tool runs in the relay ns, attached to r0 and r1, with one flow:
client 10.77.1.2:30000 -> server 10.77.1.1:3478, channel 0x4001, relayed
10.77.2.1:50000 <-> peer 10.77.2.2:40000. Two UDP sockets of this script,
bound in the relay ns on the server and the relayed address, stand in for
the user-space relay: whatever the kernel does not relay lands there.

Run for IPv4, then for IPv6 with the same ports; each twice: with veth tx
checksum offload off (as a NIC: full checksums on the wire, the kernel path
must relay everything), then on (local senders leave CHECKSUM_PARTIAL; the
program must hand those to user space, and the peer/client must never get
a corrupted or misplaced datagram). Each run:
  a. 2000 ChannelData client -> peer, byte-exact, in order, counted;
  b. 2000 peer datagrams -> ChannelData to the client, likewise;
  c. malformed or unknown datagrams reach the stand-ins, never relayed;
     (IPv6, offload off) ChannelData without a UDP checksum too;
  d. after `remove`, all traffic reaches the stand-ins, counters stand still;
  e. `quit` leaves no bpf filter on r0/r1;
  f. (offload off) a flow installed with an expiry relays until then and
     hands everything to user space after it.

Usage (as root): channel_data_test.py [TOOL]
  TOOL defaults to $FAST_PATH_TOOL, else build/tests/fast_path_tool.
Exit 0 all passed, 1 a failure, 77 skipped (not root, no tool, or the
kernel/privileges refuse the program).
"""
import atexit
import json
import os
import tempfile
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402

TOOL = (sys.argv[1] if len(sys.argv) > 1 else
        os.environ.get("FAST_PATH_TOOL", "build/tests/fast_path_tool"))
SUFFIX = str(os.getpid())
CLI, RLY, PEER_NS = (f"tpfp-cli-{SUFFIX}", f"tpfp-rly-{SUFFIX}", f"tpfp-peer-{SUFFIX}")



class Addresses:
    """The flow's endpoints in one family, and the strangers beside them."""

    def __init__(self, family, client, server, relayed, peer, other_peer):
        self.family, self.name = family, ("IPv6" if family == socket.AF_INET6 else "IPv4")
        self.client, self.other_client = (client, 30000), (client, 30001)
        self.server, self.relayed = (server, 3478), (relayed, 50000)
        self.peer, self.other_peer_port = (peer, 40000), (peer, 40001)
        self.other_peer_addr = (other_peer, 40000)

    def word(self, address):
        """IP:PORT for the tool, [IPv6]:PORT for IPv6."""
        host = f"[{address[0]}]" if self.family == socket.AF_INET6 else address[0]
        return f"{host}:{address[1]}"


IPV4 = Addresses(socket.AF_INET, "10.77.1.2", "10.77.1.1", "10.77.2.1", "10.77.2.2", "10.77.2.3")
IPV6 = Addresses(socket.AF_INET6, "fd77:1::2", "fd77:1::1", "fd77:2::1", "fd77:2::2", "fd77:2::3")
CHANNEL = 0x4001
COUNT = 2000
BURST = 50  # datagrams in flight at once: well inside every socket buffer

failures = []
tool = None  # the running fast_path_tool (a Popen), if any


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + (f" ({detail})" if detail else ""))
    if not ok:
        failures.append(name)
    return ok


sh = netns.sh


# --- namespaces ------------------------------------------------------------

def cleanup():
    global tool
    if tool is not None and tool.poll() is None:
        tool.kill()  # our own child, by its Popen handle
        tool.wait(timeout=5)
    tool = None
    for ns in (CLI, RLY, PEER_NS):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def make_namespaces():
    for ns in (CLI, RLY, PEER_NS):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # IPv6 without duplicate address detection or router solicitations:
        # addresses usable at once, little chatter. What remains (neighbour
        # discovery, MLD) is ICMPv6, which the checks' verdicts do not count.
        for key in ("accept_dad=0", "router_solicitations=0", "accept_ra=0"):
            for conf in ("all", "default"):
                sh("sysctl", "-qw", f"net.ipv6.conf.{conf}.{key}", ns=ns)
    # Created straight inside the namespaces: fixed names cannot clash with another run.
    sh("ip", "link", "add", "c0", "netns", CLI, "type", "veth", "peer", "name", "r0", "netns", RLY)
    sh("ip", "link", "add", "p0", "netns", PEER_NS, "type", "veth", "peer", "name", "r1", "netns",
       RLY)
    for ns, dev, addr in ((CLI, "c0", "10.77.1.2/24"), (RLY, "r0", "10.77.1.1/24"),
                          (RLY, "r1", "10.77.2.1/24"), (PEER_NS, "p0", "10.77.2.2/24"),
                          (PEER_NS, "p0", "10.77.2.3/24"), (CLI, "c0", "fd77:1::2/64"),
                          (RLY, "r0", "fd77:1::1/64"), (RLY, "r1", "fd77:2::1/64"),
                          (PEER_NS, "p0", "fd77:2::2/64"), (PEER_NS, "p0", "fd77:2::3/64")):
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev, *(["nodad"] if ":" in addr else []))
    for ns, dev in ((CLI, "c0"), (RLY, "r0"), (RLY, "r1"), (PEER_NS, "p0")):
        sh("ip", "-n", ns, "link", "set", dev, "up")
    sh("ip", "-n", CLI, "route", "add", "default", "via", "10.77.1.1")
    sh("ip", "-n", PEER_NS, "route", "add", "default", "via", "10.77.2.1")
    sh("ip", "-n", CLI, "-6", "route", "add", "default", "via", "fd77:1::1")
    sh("ip", "-n", PEER_NS, "-6", "route", "add", "default", "via", "fd77:2::1")


def set_offload(on):
    for ns, dev in ((CLI, "c0"), (RLY, "r0"), (RLY, "r1"), (PEER_NS, "p0")):
        sh("ethtool", "-K", dev, "tx", "on" if on else "off", ns=ns)


def csum_errors(ns):
    """UDP and UDPv6 InCsumErrors: a relayed datagram with a bad checksum dies there."""
    lines = [l.split() for l in sh("cat", "/proc/net/snmp", ns=ns).splitlines()
             if l.startswith("Udp:")]
    v6 = [l.split() for l in sh("cat", "/proc/net/snmp6", ns=ns).splitlines()
          if l.startswith("Udp6InCsumErrors")]
    return int(lines[1][lines[0].index("InCsumErrors")]) + int(v6[0][1])


def udp_socket(ns, addr, family):
    """A UDP socket of `family` living in namespace `ns`, bound to `addr`."""
    s = netns.socket_in(ns, family=family)
    s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE: root may exceed rmem_max
    s.bind(addr)
    s.setblocking(False)
    return s


# --- the tool --------------------------------------------------------------

class Tool:
    def __init__(self, ifnames):
        # stderr to a file: libbpf's chatter must not fill a pipe and stall the tool.
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["ip", "netns", "exec", RLY, TOOL] + ifnames,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        self.buffer = b""

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace").strip()

    def read(self, timeout=10.0):
        """The next JSON line from the tool, or None on exit or timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def ask(self, command):
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        answer = self.read()
        if answer is None:
            raise RuntimeError(f"no answer from the tool to {command!r}")
        return answer


def start_tool():
    global tool
    t = Tool(["r0", "r1"])
    tool = t.proc
    first = t.read()
    if first is None or "error" in first:
        t.proc.wait(timeout=5)
        error = (first or {}).get("error", "") + " " + t.stderr_text()
        # A missing privilege or kernel feature is this machine's limit, not a bug;
        # a verifier rejection ("Invalid argument") is a bug and fails.
        reasons = ("Operation not permitted", "Permission denied", "not supported",
                   "Function not implemented", "No such process")
        if t.proc.returncode == 3 and any(r in error for r in reasons):
            skip(f"the fast path cannot attach here: {error.strip()}")
        raise RuntimeError(f"attach failed (exit {t.proc.returncode}): {error.strip()}")
    return t


# --- traffic ---------------------------------------------------------------

def install(t, n, *extra):
    """The test's one flow in family `n`, with any extra key=value words."""
    return t.ask(" ".join([f"install client={n.word(n.client)}", f"server={n.word(n.server)}",
                           f"relayed={n.word(n.relayed)}", f"peer={n.word(n.peer)}",
                           f"channel={CHANNEL} client_if=r0 peer_if=r1", *extra]))


def payloads():
    """2000 payloads: first the sizes 16 and 53 (the spike's odd ones), then every
    size 1..1200, then a spread; random bytes from a fixed seed."""
    sizes = [16, 53] + list(range(1, 1201))
    sizes += [1 + (i * 37) % 1200 for i in range(COUNT - len(sizes))]
    r = random.Random(16)
    return [r.randbytes(n) for n in sizes]


def channel_data(channel, data):
    return struct.pack("!HH", channel, len(data)) + data


def collect(socks, want, idle=2.0):
    """Reads from several sockets until `want` datagrams came in all or nothing
    came for `idle` seconds. Returns {name: [(data, source)]}."""
    got = {name: [] for name in socks}
    by_fd = {s.fileno(): name for name, s in socks.items()}
    total = 0
    for _ in range(want + 1000):  # bounded: each pass reads at least one or stops
        if total >= want:
            break
        ready = select.select(list(socks.values()), [], [], idle)[0]
        if not ready:
            break
        for s in ready:
            for _ in range(BURST * 4):
                try:
                    data, source = s.recvfrom(65535)
                except BlockingIOError:
                    break
                got[by_fd[s.fileno()]].append((data, source))
                total += 1
    return got


def quiet(socks, wait=0.3):
    """Whatever arrives on these sockets in the next `wait` seconds."""
    return collect(socks, 1 << 30, idle=wait)


def is_subsequence(part, whole):
    it = iter(whole)
    return all(any(p == w for w in it) for p in part)


def blast(sender, destination, messages, listeners):
    """Sends in bursts, reading each burst back before the next."""
    got = {name: [] for name in listeners}
    for start in range(0, len(messages), BURST):
        burst = messages[start:start + BURST]
        for m in burst:
            sender.sendto(m, destination)
        for name, items in collect(listeners, len(burst)).items():
            got[name] += items
    for name, items in quiet(listeners).items():  # late or extra arrivals
        got[name] += items
    return got


def diff(a, b, keys):
    return {k: b[k] - a[k] for k in keys}


# --- one run: offload off or on --------------------------------------------

def run(offload, s, n):
    label = f"{n.name} offload {'on' if offload else 'off'}"
    print(f"== {label}")
    set_offload(offload)
    for dev in ("r0", "r1"):
        check(f"{label}: no bpf filter on {dev} before attach",
              "bpf" not in sh("tc", "filter", "show", "dev", dev, "ingress", ns=RLY))
    t = start_tool()
    for dev in ("r0", "r1"):
        check(f"{label}: bpf filter on {dev} after attach",
              "bpf" in sh("tc", "filter", "show", "dev", dev, "ingress", ns=RLY))
    answer = install(t, n)
    if not check(f"{label}: install", "id" in answer, str(answer)):
        return
    flow = answer["id"]
    data = payloads()
    total = sum(len(d) for d in data)
    standins = {"server": s["server"], "relayed": s["relayed"]}
    errors0 = (csum_errors(CLI), csum_errors(PEER_NS))

    # a. client -> peer.
    v0, c0 = t.ask("verdicts"), t.ask(f"counters {flow}")
    got = blast(s["client"], n.server, [channel_data(CHANNEL, d) for d in data],
                {"peer": s["peer"], **standins})
    v1, c1 = t.ask("verdicts"), t.ask(f"counters {flow}")
    relayed = [d for d, _ in got["peer"]]
    to_user = [d for d, _ in got["server"]]
    check(f"{label} a: the peer got only exact payloads, in order, from the relayed address",
          is_subsequence(relayed, data) and all(src[:2] == n.relayed for _, src in got["peer"]),
          f"{len(relayed)} received")
    check(f"{label} a: every datagram went exactly one way (peer {len(relayed)} + "
          f"user space {len(to_user)} == {COUNT})",
          len(relayed) + len(to_user) == COUNT and not got["relayed"]
          and is_subsequence(to_user, [channel_data(CHANNEL, d) for d in data]))
    dv = diff(v0, v1, v0)
    dc = diff(c0, c1, c0)
    check(f"{label} a: verdicts and counters say which", dv["relayed_to_peer"] == len(relayed)
          and dc["to_peer_packets"] == len(relayed)
          and dc["to_peer_bytes"] == sum(len(d) for d in relayed)
          and dv["checksum_partial"] == len(to_user) and dv["resize_failed"] == 0,
          f"verdicts {dv} counters {dc}")
    if not offload:
        check(f"{label} a: all {COUNT} relayed in the kernel, user space saw none",
              relayed == data and not to_user and dv["relayed_to_peer"] == COUNT
              and dc["to_peer_packets"] == COUNT and dc["to_peer_bytes"] == total,
              f"peer {len(relayed)}, user space {len(to_user)}, {dc['to_peer_bytes']}/{total} B")

    # b. peer -> client.
    v0, c0 = v1, c1
    got = blast(s["peer"], n.relayed, data, {"client": s["client"], **standins})
    v1, c1 = t.ask("verdicts"), t.ask(f"counters {flow}")
    relayed = [d for d, _ in got["client"]]
    to_user = [d for d, _ in got["relayed"]]
    check(f"{label} b: the client got only exact ChannelData (no padding), in order, "
          f"from the server address",
          is_subsequence(relayed, [channel_data(CHANNEL, d) for d in data])
          and all(src[:2] == n.server for _, src in got["client"]), f"{len(relayed)} received")
    check(f"{label} b: every datagram went exactly one way (client {len(relayed)} + "
          f"user space {len(to_user)} == {COUNT})",
          len(relayed) + len(to_user) == COUNT and not got["server"]
          and is_subsequence(to_user, data))
    dv = diff(v0, v1, v0)
    dc = diff(c0, c1, c0)
    check(f"{label} b: verdicts and counters say which", dv["relayed_to_client"] == len(relayed)
          and dc["to_client_packets"] == len(relayed)
          and dc["to_client_bytes"] == sum(len(d) - 4 for d in relayed)
          and dv["checksum_partial"] == len(to_user) and dv["resize_failed"] == 0,
          f"verdicts {dv} counters {dc}")
    if not offload:
        check(f"{label} b: all {COUNT} relayed in the kernel, user space saw none",
              relayed == [channel_data(CHANNEL, d) for d in data] and not to_user
              and dc["to_client_packets"] == COUNT and dc["to_client_bytes"] == total,
              f"client {len(relayed)}, user space {len(to_user)}")
    check(f"{label}: no UDP checksum errors at the client or the peer",
          (csum_errors(CLI), csum_errors(PEER_NS)) == errors0)

    # c. malformed or unknown: each reaches its stand-in, byte for byte.
    stun_cookie = struct.pack("!I", 0x2112A442)
    body = bytes(range(16))
    cases = [  # (what, sender, to, datagram, stand-in)
        ("ChannelData shorter than its length", "client", n.server,
         struct.pack("!HH", CHANNEL, 100) + b"short", "server"),
        ("ChannelData padded to 4 bytes", "client", n.server,
         struct.pack("!HH", CHANNEL, 3) + b"abc\0", "server"),
        ("ChannelData with trailing bytes", "client", n.server,
         channel_data(CHANNEL, body) + b"trailing", "server"),
        ("2-byte datagram", "client", n.server, b"\x40\x01", "server"),
        ("3-byte datagram", "client", n.server, b"\x40\x01\x00", "server"),
        ("unbound channel 0x4002", "client", n.server, channel_data(0x4002, body), "server"),
        ("flow's channel from another client port", "other_client", n.server,
         channel_data(CHANNEL, body), "server"),
        ("STUN Binding request (0x00..)", "client", n.server,
         struct.pack("!HH", 0x0001, 0) + stun_cookie + body[:12], "server"),
        ("STUN Send indication (0x00..)", "client", n.server,
         struct.pack("!HH", 0x0016, 0) + stun_cookie + body[:12], "server"),
        ("STUN success response (0x01..)", "client", n.server,
         struct.pack("!HH", 0x0101, 0) + stun_cookie + body[:12], "server"),
        ("from another peer port", "other_peer_port", n.relayed, body, "relayed"),
        ("from another peer address", "other_peer_addr", n.relayed, body, "relayed"),
    ]
    v0, c0 = v1, c1
    everyone = {"client": s["client"], "peer": s["peer"], **standins}
    for what, sender, to, datagram, standin in cases:
        s[sender].sendto(datagram, to)
        got = collect(everyone, 1)
        arrived = [(name, d) for name, items in got.items() for d, _ in items]
        check(f"{label} c: {what} -> user space", arrived == [(standin, datagram)],
              "" if arrived == [(standin, datagram)] else f"got {arrived}")
    extra = quiet(everyone, 0.5)
    v1, c1 = t.ask("verdicts"), t.ask(f"counters {flow}")
    dv = diff(v0, v1, v0)
    check(f"{label} c: nothing more arrived, nothing relayed, all {len(cases)} were no_flow",
          not any(extra.values()) and c0 == c1 and dv["relayed_to_peer"] == 0
          and dv["relayed_to_client"] == 0 and dv["no_flow"] == len(cases), f"verdicts {dv}")

    if n.family == socket.AF_INET6 and not offload:
        no_checksum(t, s, n, label, flow, everyone)

    # d. removed: both directions go to user space, counters stand still.
    check(f"{label} d: remove", t.ask(f"remove {flow}") == {"removed": flow})
    v0, c0 = v1, c1
    to_server = [channel_data(CHANNEL, d) for d in data]
    got_up = blast(s["client"], n.server, to_server, everyone)
    got_down = blast(s["peer"], n.relayed, data, everyone)
    v1, c1 = t.ask("verdicts"), t.ask(f"counters {flow}")
    dv = diff(v0, v1, v0)
    check(f"{label} d: after remove, client -> server all in user space, in order",
          [d for d, _ in got_up["server"]] == to_server and not got_up["peer"]
          and not got_up["client"] and not got_up["relayed"],
          f"user space {len(got_up['server'])}, peer {len(got_up['peer'])}")
    check(f"{label} d: after remove, peer -> relayed all in user space, in order",
          [d for d, _ in got_down["relayed"]] == data and not got_down["client"]
          and not got_down["peer"] and not got_down["server"],
          f"user space {len(got_down['relayed'])}, client {len(got_down['client'])}")
    check(f"{label} d: counters stood still, nothing relayed",
          c0 == c1 and dv["relayed_to_peer"] == 0 and dv["relayed_to_client"] == 0
          and dv["no_flow"] == 2 * COUNT, f"verdicts {dv}")

    if not offload:
        expiry(t, s, n, label, everyone)

    # e. quit detaches.
    t.proc.stdin.write(b"quit\n")
    t.proc.stdin.flush()
    try:
        rc = t.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = "still running"
    check(f"{label} e: quit exits 0", rc == 0, f"exit {rc}")
    for dev in ("r0", "r1"):
        shown = sh("tc", "filter", "show", "dev", dev, "ingress", ns=RLY)
        check(f"{label} e: no bpf filter on {dev} after quit", "bpf" not in shown, shown.strip())
    got = blast(s["client"], n.server, to_server[:20], everyone)
    check(f"{label} e: detached, ChannelData reaches user space",
          [d for d, _ in got["server"]] == to_server[:20] and not got["peer"])


def no_checksum(t, s, n, label, flow, everyone):
    """c6. IPv6 forbids a zero UDP checksum (RFC 8200 §8.1): ChannelData of
    the flow sent without one goes to user space, never relayed. The sender
    and the stand-in opt in (UDP_NO_CHECK6_TX/RX) so it exists at all."""
    sender = netns.socket_in(CLI, family=socket.AF_INET6)
    sender.setsockopt(socket.SOL_UDP, 101, 1)  # UDP_NO_CHECK6_TX
    sender.bind((n.client[0], 30002))
    s["server"].setsockopt(socket.SOL_UDP, 102, 1)  # UDP_NO_CHECK6_RX
    # A second flow for this client port, so only the checksum is wrong.
    answer = t.ask(" ".join([f"install client={n.word((n.client[0], 30002))}",
                             f"server={n.word(n.server)}",
                             f"relayed={n.word((n.relayed[0], 50001))}",
                             f"peer={n.word(n.peer)}", f"channel={CHANNEL} client_if=r0 peer_if=r1"]))
    if not check(f"{label} c6: install a flow for the sender", "id" in answer, str(answer)):
        return
    v0, c0 = t.ask("verdicts"), t.ask(f"counters {answer['id']}")
    datagram = channel_data(CHANNEL, b"no checksum")
    sender.sendto(datagram, n.server)
    got = collect(everyone, 1)
    v1, c1 = t.ask("verdicts"), t.ask(f"counters {answer['id']}")
    arrived = [(name, d) for name, items in got.items() for d, _ in items]
    dv = diff(v0, v1, v0)
    check(f"{label} c6: ChannelData without a UDP checksum -> user space, not relayed",
          arrived == [("server", datagram)] and c0 == c1 and dv["not_ip_udp"] >= 1
          and dv["relayed_to_peer"] == 0, f"got {arrived}, verdicts {dv}")
    t.ask(f"remove {answer['id']}")
    s["server"].setsockopt(socket.SOL_UDP, 102, 0)
    sender.close()


def expiry(t, s, n, label, everyone):
    """f. A flow past its expiry stops in the kernel by itself: the program
    reads the clock, so a permission or channel that runs out between two
    sweeps of user space never relays one packet too many."""
    answer = install(t, n, "expires_in_ms=1500")
    if not check(f"{label} f: install with an expiry", "id" in answer, str(answer)):
        return
    flow = answer["id"]
    data = [b"f%04d" % i for i in range(50)]
    got = blast(s["client"], n.server, [channel_data(CHANNEL, d) for d in data], everyone)
    check(f"{label} f: before the expiry the kernel relays",
          [d for d, _ in got["peer"]] == data and not got["server"],
          f"peer {len(got['peer'])}, user space {len(got['server'])}")
    time.sleep(1.6)
    v0 = t.ask("verdicts")
    got = blast(s["client"], n.server, [channel_data(CHANNEL, d) for d in data], everyone)
    back = blast(s["peer"], n.relayed, data, everyone)
    v1 = t.ask("verdicts")
    dv = diff(v0, v1, v0)
    check(f"{label} f: after the expiry both ways reach user space, none relayed",
          [d for d, _ in got["server"]] == [channel_data(CHANNEL, d) for d in data]
          and [d for d, _ in back["relayed"]] == data and not got["peer"] and not back["client"]
          and dv["expired"] == 2 * len(data) and dv["relayed_to_peer"] == 0,
          f"verdicts {dv}")
    check(f"{label} f: remove", t.ask(f"remove {flow}") == {"removed": flow})


def sockets(n):
    """The test's sockets in family `n`; None when the user-space path
    does not work even without BPF."""
    socks = {
        "client": udp_socket(CLI, n.client, n.family),
        "other_client": udp_socket(CLI, n.other_client, n.family),
        "server": udp_socket(RLY, n.server, n.family),
        "relayed": udp_socket(RLY, n.relayed, n.family),
        "peer": udp_socket(PEER_NS, n.peer, n.family),
        "other_peer_port": udp_socket(PEER_NS, n.other_peer_port, n.family),
        "other_peer_addr": udp_socket(PEER_NS, n.other_peer_addr, n.family),
    }
    # The user-space path before any BPF; this also resolves the neighbours.
    socks["client"].sendto(b"hello", n.server)
    socks["peer"].sendto(b"hello", n.relayed)
    got = collect({"server": socks["server"], "relayed": socks["relayed"]}, 2)
    if not check(f"{n.name}: without BPF both hellos reach user space",
                 [d for d, _ in got["server"] + got["relayed"]] == [b"hello", b"hello"]):
        return None
    return socks


def main():
    if os.geteuid() != 0:
        skip("needs root (network namespaces, BPF)")
    if not os.access(TOOL, os.X_OK):
        skip(f"no fast_path_tool at {TOOL} (built only with clang, bpftool and libbpf-dev)")
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the namespaces go
    try:
        make_namespaces()
    except RuntimeError as e:
        skip(f"cannot make network namespaces: {e}")
    try:
        for n in (IPV4, IPV6):
            socks = sockets(n)
            if socks is None:
                return 1
            for offload in (False, True):
                run(offload, socks, n)
            for sock in socks.values():
                sock.close()
    finally:
        cleanup()
    print("ALL PASS" if not failures else f"{len(failures)} FAILED: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
