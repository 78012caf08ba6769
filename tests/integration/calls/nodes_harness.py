"""Helpers for the multi-node tests (test_nodes.py): one real redis-server per
test class, several turnpike processes sharing it (`store.backend: redis`),
and a test case that talks to each node with harness.py's clients.

Every wait is bounded; all traffic goes to 127.0.0.1; only processes started
here are stopped, by their PID."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import aiohttp
from aioice import stun, turn

from harness import ADMIN_TOKEN, HOST, Api, EventSocket, Server, User, _die_with_parent

REDIS_SERVER = os.environ.get("TURNPIKE_REDIS_SERVER", "/usr/bin/redis-server")
REDIS_CLI = os.environ.get("TURNPIKE_REDIS_CLI", "/usr/bin/redis-cli")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Redis:
    """One redis-server on 127.0.0.1; stop() and start() keep the port (and,
    with persistent=True, the data: append-only file, fsync on every write)."""

    START_TIMEOUT = 10.0

    def __init__(self, persistent=False):
        self.tmpdir = tempfile.mkdtemp(prefix="turnpike-redis-")
        self.persistent = persistent
        self.port = None
        self.proc = None
        self.starts = 0
        self.log_path = None

    def start(self):
        for path in (REDIS_SERVER, REDIS_CLI):
            if not os.access(path, os.X_OK):
                raise unittest.SkipTest(f"no {path}")
        if self.port is None:
            self.port = free_port()
        self.starts += 1
        self.log_path = os.path.join(self.tmpdir, f"redis-{self.starts}.log")
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", HOST, "--save", "",
                "--dir", self.tmpdir, "--logfile", self.log_path]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.tmpdir,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n"
                                   f"{self.log()[-2000:]}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server not answering PING in {self.START_TIMEOUT}s:\n"
                           f"{self.log()[-2000:]}")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def cli(self, *args, timeout=3.0):
        r = subprocess.run([REDIS_CLI, "-h", HOST, "-p", str(self.port), *args],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return r.stdout.decode("utf-8", "replace").strip()

    def ping(self):
        try:
            return self.cli("ping", timeout=1.0) == "PONG"
        except subprocess.TimeoutExpired:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM by PID (redis fsyncs the append-only file and exits)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill(self):
        if self.alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)

    def keys(self, pattern="*"):
        out = self.cli("--scan", "--pattern", pattern)
        return [k for k in out.splitlines() if k]

    def cleanup(self):
        self.stop()
        if os.environ.get("TURNPIKE_KEEP_TMP"):
            return
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def node_overrides(name, region, redis_port, extra=None):
    """The lead's per-node config: harness base_config plus node and store."""
    from harness import merge
    base = {"node": {"name": name, "region": region},
            "store": {"backend": "redis",
                      "redis": {"address": f"{HOST}:{redis_port}", "timeout": "1s"}}}
    return merge(base, extra or {})


def node_uris(server):
    """The RFC 7065 URIs a node builds from its listen addresses (as
    test_calls.CallTestMixin.check_turn expects them for one node)."""
    p = server.ports
    return [f"turn:{HOST}:{p['udp']}?transport=udp",
            f"turn:{HOST}:{p['tcp']}?transport=tcp",
            f"turns:{HOST}:{p['tls']}?transport=tcp"]


# -- TURN pieces (as in test_turn.py) ------------------------------------------
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class Receiver(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait((data, addr))


def error_code(exc):
    return exc.response.attributes["ERROR-CODE"][0]


# -- the test case -------------------------------------------------------------
class NodesTestCase(unittest.IsolatedAsyncioTestCase):
    """NODES = [(name, region), ...] turnpike processes sharing one
    redis-server (started per class; REDIS_PERSISTENT for an append-only
    file). NODE_CONFIG: overrides for every node."""

    NODES = (("a", "eu"), ("b", "eu"), ("c", "us"))
    NODE_CONFIG = {}
    REDIS_PERSISTENT = False
    redis = None
    nodes = None

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis(persistent=cls.REDIS_PERSISTENT)
        cls.nodes = {}
        try:
            cls.redis.start()
            for name, region in cls.NODES:
                server = Server(node_overrides(name, region, cls.redis.port, cls.NODE_CONFIG))
                cls.nodes[name] = server
                server.start()
        except BaseException:
            cls._cleanup_class()
            raise

    @classmethod
    def _cleanup_class(cls):
        for server in (cls.nodes or {}).values():
            server.cleanup()
        if cls.redis is not None:
            cls.redis.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls._cleanup_class()

    async def asyncSetUp(self):
        # A node a previous test killed, stopped or drained starts again.
        if not self.redis.alive():
            self.redis.start()
        for name, server in self.nodes.items():
            if not server.alive() or getattr(server, "dirty", False):
                type(self).formed = False
                server.restart()
                server.dirty = False
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        self.sockets = []
        self.relays = []
        self.peer = None
        # A cleanup, not asyncTearDown: it runs when asyncSetUp fails too.
        self.addAsyncCleanup(self._close_clients)
        self.peer, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            Echo, local_addr=(HOST, 0))
        self.peer_addr = self.peer.get_extra_info("sockname")
        if not type(self).formed:
            await self.wait_cluster()
            type(self).formed = True

    formed = False

    async def wait_cluster(self, timeout=10.0):
        """Until every node hands out every node's TURN URIs: the nodes have
        seen each other. (Right after a node starts, the others do not know
        it for about a second: see
        test_nodes.MultiNodeTest.test_device_on_a_just_started_node_rings.)"""
        want = set()
        for server in self.nodes.values():
            want |= set(node_uris(server))
        for name in self.nodes:
            u, v = User("probe"), User("probe")
            udev = await self.device(name, u)
            vdev = await self.device(name, v)
            vsock = EventSocket(self.nodes[name], v, vdev)
            await vsock.connect()
            try:
                created = (await self.api(name).create(u, udev, v.id)).body
                token = created["callToken"]
                deadline = time.monotonic() + timeout
                while True:
                    r = await self.api(name).request("POST", "/v1/turn/credentials", token,
                                                     expect=None, validate=False)
                    got = set(r.body["uris"]) if r.status == 200 else None
                    if got == want:
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError(f"node {name} does not hand out every node's TURN "
                                             f"URIs in {timeout}s: {r!r}; want {sorted(want)}")
                    await asyncio.sleep(0.1)
                await self.api(name).action(u, created["call"]["callId"], "end", udev)
            finally:
                await vsock.close()

    async def _close_clients(self):
        for relay in self.relays:
            try:
                inner = relay._TurnTransport__inner_protocol
                if inner.refresh_handle:
                    inner.refresh_handle.cancel()
                inner.transport.close()
            except Exception:
                pass
        if self.peer is not None:
            self.peer.close()
        for s in self.sockets:
            await s.close()
        errors = [e for s in self.sockets for e in s.errors]
        await self.session.close()
        if errors:
            raise AssertionError("event schema violations: " + "; ".join(errors))

    # -- per node ------------------------------------------------------------
    def api(self, node):
        """A REST client for node (name); built afresh, so a restarted node's
        new port is used."""
        return Api(self.nodes[node], self.session)

    async def device(self, node, user, platform="ios", **kw):
        resp = await self.api(node).register(user, platform=platform, **kw)
        return resp.body["device"]["deviceId"]

    async def socket(self, node, user, device_id, foreground=True):
        s = EventSocket(self.nodes[node], user, device_id)
        await s.connect(foreground=foreground)
        self.sockets.append(s)
        return s

    async def online(self, node, user, platform="ios", **kw):
        """A device registered through node, its socket on node."""
        dev = await self.device(node, user, platform=platform, **kw)
        return dev, await self.socket(node, user, dev)

    async def admin(self, node, method, path):
        server = self.nodes[node]
        async with self.session.request(
                method, f"{server.control_url}{path}",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
            text = await r.text()
            try:
                body = await r.json(content_type=None)
            except ValueError:
                body = None
            return r.status, body, text

    async def allocations_of(self, node, call_id):
        status, body, text = await self.admin(node, "GET", "/admin/allocations")
        self.assertEqual(200, status, f"GET /admin/allocations on {node}: {text[:500]}")
        return [a for a in body["allocations"] if a.get("callId") == call_id]

    # -- TURN ----------------------------------------------------------------
    async def allocate(self, node, creds, transport="udp"):
        relay, receiver = await asyncio.wait_for(
            turn.create_turn_endpoint(Receiver, server_addr=(HOST, self.nodes[node].ports[transport]),
                                      username=creds["username"], password=creds["password"],
                                      transport=transport), 10)
        self.relays.append(relay)
        return relay, receiver

    async def echo(self, relay, receiver, n=3, tag=b"relayed"):
        for i in range(n):
            msg = tag + b" %d" % i
            relay.sendto(msg, self.peer_addr)
            data, _ = await asyncio.wait_for(receiver.queue.get(), 3)
            self.assertEqual(msg, data)

    async def refresh(self, relay, lifetime=600):
        """A raw Refresh on the allocation's 5-tuple; the error code or 0."""
        inner = relay._TurnTransport__inner_protocol
        if inner.refresh_handle:
            inner.refresh_handle.cancel()
            inner.refresh_handle = None
        for _ in range(3):
            req = stun.Message(message_method=stun.Method.REFRESH,
                               message_class=stun.Class.REQUEST)
            req.attributes["LIFETIME"] = lifetime
            try:
                await asyncio.wait_for(inner.request(req), 5)
                return 0
            except stun.TransactionFailed as e:
                code = error_code(e)
                if code == 438 and "NONCE" in e.response.attributes:
                    inner.nonce = e.response.attributes["NONCE"]
                    continue
                return code
        return 438

    # -- calls ---------------------------------------------------------------
    def user(self, prefix="u"):
        return User(prefix)

    async def create(self, node, caller, device_id, callee, type_="audio"):
        """POST /v1/calls on node; the callee has a device that can ring, so
        the call must not be ended already."""
        body = (await self.api(node).create(caller, device_id, callee.id, type_)).body
        call = body["call"]
        if call["state"] == "ended":
            raise AssertionError(
                f"POST /v1/calls on {node}: the call ended at once ({call['endReason']}) though "
                f"the callee has a device with a live socket: {call}")
        return body

    async def restart_node(self, name):
        """stop + start; the next test waits until the nodes know it again.
        (On the loop's thread, on purpose: PR_SET_PDEATHSIG fires when the
        thread that started the process exits, and executor threads do.)"""
        type(self).formed = False
        self.nodes[name].restart()

    async def wait_for(self, probe, timeout, what, interval=0.1):
        """Polls the coroutine function probe until it returns a true value;
        returns (value, seconds taken)."""
        t0 = time.monotonic()
        last = None
        while True:
            last = await probe()
            if last:
                return last, time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"{what}: not within {timeout}s")
            await asyncio.sleep(interval)
