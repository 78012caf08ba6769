"""Black-box harness for the call API tests: the real turnpike binary on
loopback port 0, user tokens minted with PyJWT, REST through aiohttp with every
answer checked against control/api/openapi.yaml, and a WebSocket client
(python3-websockets) that collects the events of one device.

Every wait is bounded; all traffic goes to 127.0.0.1."""

import asyncio
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

import aiohttp
import jsonschema
import jwt
import websockets
import yaml

SOURCE_DIR = os.environ.get(
    "TURNPIKE_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
BINARY = os.environ.get("TURNPIKE_BINARY",
                        os.path.join(SOURCE_DIR, "build", "relay", "app", "turnpike"))
OPENAPI_PATH = os.path.join(SOURCE_DIR, "control", "api", "openapi.yaml")

USER_SECRET = "test-user-secret"
# control.admin_token must be at least 16 characters (the config refuses "admintoken").
ADMIN_TOKEN = "admintoken-for-tests"
REST_SECRET = "turn-rest-secret"
HOST = "127.0.0.1"

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")


def _die_with_parent():
    """A test runner killed by CTest's timeout takes its server with it."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def base_config(tmpdir):
    """The lead's test config; tests override parts of it."""
    return {
        "listen": {"udp": [f"{HOST}:0"], "tcp": [f"{HOST}:0"], "tls": [f"{HOST}:0"]},
        "metrics": {"listen": f"{HOST}:0"},
        "control": {"listen": f"{HOST}:0", "admin_token": ADMIN_TOKEN},
        "relay": {"workers": 2, "peers": {"allow_loopback": True}},
        "server": {"shutdown_grace": "2s"},
        "api": {"listen": [f"{HOST}:0"], "tls": False,
                "user_tokens": {"hs256_secrets": [USER_SECRET], "issuer": "", "audience": ""}},
        "store": {"sqlite": {"path": os.path.join(tmpdir, "turnpike.db")}},
        "calls": {"ring_timeout": "30s", "connect_timeout": "20s", "max_duration": "4h",
                  "busy_policy": "busy", "max_ringing_devices": 3,
                  "rate_limits": {"create_per_minute": 10, "signals_per_second": 50}},
        "call_tokens": {"ttl": "120s", "turn_ttl": "5m"},
        "auth": {"rest_secrets": [REST_SECRET]},
    }


def merge(base, override):
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class Server:
    """One turnpike process; restart() starts it again on the same config and
    SQLite file (after stop() or kill9())."""

    START_TIMEOUT = 20.0

    def __init__(self, overrides=None):
        self.tmpdir = tempfile.mkdtemp(prefix="turnpike-calls-")
        self.config = merge(base_config(self.tmpdir), overrides)
        self.config_path = os.path.join(self.tmpdir, "turnpike.yaml")
        with open(self.config_path, "w") as f:
            yaml.safe_dump(self.config, f, sort_keys=False)
        self.proc = None
        self.ssl = None  # an SSLContext trusting the API's certificate, when api.tls
        self.starts = 0
        self.log_path = None
        self.ports = {}

    # -- process ---------------------------------------------------------
    def start(self):
        if not os.access(BINARY, os.X_OK):
            if "TURNPIKE_BINARY" in os.environ:  # under CTest: a missing binary fails
                raise RuntimeError(f"no turnpike binary at {BINARY}")
            raise unittest.SkipTest(f"no turnpike binary at {BINARY}")
        self.starts += 1
        self.log_path = os.path.join(self.tmpdir, f"turnpike-{self.starts}.log")
        log = open(self.log_path, "wb")
        # Under ASan, freed memory sits in a 256 MB quarantine by default and
        # shows as RSS; a small one keeps the memory bounds meaningful.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"
        self.proc = subprocess.Popen([BINARY, "--config", self.config_path], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.tmpdir, preexec_fn=_die_with_parent, env=env)
        log.close()
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.log()
            if "running with" in text:
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnpike exited with {self.proc.returncode}:\n{text[-4000:]}")
            time.sleep(0.05)
        else:
            self.kill9()
            raise RuntimeError(
                f"turnpike not ready in {self.START_TIMEOUT}s:\n{self.log()[-4000:]}")
        text = self.log()
        self.ports = {}
        for name, pattern in (("api", r"api on https?://127\.0\.0\.1:(\d+)"),
                              ("control", r"control on http://127\.0\.0\.1:(\d+)"),
                              ("metrics", r"metrics on http://127\.0\.0\.1:(\d+)"),
                              ("udp", r"listening on udp 127\.0\.0\.1:(\d+)"),
                              ("tcp", r"listening on tcp 127\.0\.0\.1:(\d+)"),
                              ("tls", r"listening on tls 127\.0\.0\.1:(\d+)")):
            m = re.search(pattern, text)
            if m:
                self.ports[name] = int(m.group(1))
        if "api" not in self.ports:
            self.stop()
            raise RuntimeError(f"no 'api on' line in the log:\n{text[-4000:]}")
        return self

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self):
        if self.alive():
            # SIGINT stops at once; SIGTERM would drain open allocations.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.stop()
        if os.environ.get("TURNPIKE_KEEP_TMP"):
            return
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    # -- URLs --------------------------------------------------------------
    @property
    def tls(self):
        return bool(self.config["api"].get("tls"))

    @property
    def api_url(self):
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.ports['api']}"

    @property
    def ws_url(self):
        return f"{'wss' if self.tls else 'ws'}://{HOST}:{self.ports['api']}/v1/events"

    @property
    def control_url(self):
        return f"http://{HOST}:{self.ports['control']}"

    @property
    def metrics_url(self):
        return f"http://{HOST}:{self.ports['metrics']}/metrics"


# -- tokens ----------------------------------------------------------------
def user_token(sub, secret=USER_SECRET, exp_in=3600, **claims):
    now = int(time.time())
    payload = {"sub": sub, "iat": now, "exp": now + exp_in}
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


def unverified_claims(token):
    return jwt.decode(token, options={"verify_signature": False})


class User:
    def __init__(self, prefix="user"):
        self.id = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.token = user_token(self.id)

    def __repr__(self):
        return self.id


# -- OpenAPI ----------------------------------------------------------------
def _to_json_schema(node):
    """OpenAPI 3.0 schema objects -> JSON Schema (nullable -> type + null)."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    for k in ("example", "xml", "externalDocs", "deprecated", "discriminator", "readOnly",
              "writeOnly"):
        out.pop(k, None)
    return out


class OpenApi:
    _instance = None

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls(OPENAPI_PATH)
        return cls._instance

    def __init__(self, path):
        with open(path) as f:
            self.raw = yaml.safe_load(f)
        self.doc = _to_json_schema(self.raw)
        self.resolver = jsonschema.RefResolver("", self.doc)
        self.formats = jsonschema.FormatChecker(())
        self.formats.checks("date-time")(lambda v: not isinstance(v, str)
                                         or bool(RFC3339_UTC.match(v)))
        self.formats.checks("uuid")(lambda v: not isinstance(v, str) or bool(UUID_RE.match(v)))
        self.routes = []
        for template, item in self.doc["paths"].items():
            regex = "^" + re.sub(r"\{[^/}]+\}", "[^/]+", template) + "$"
            self.routes.append((re.compile(regex), template, item))

    def _deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def validate(self, schema, instance, what):
        errors = sorted(jsonschema.Draft7Validator(
            schema, resolver=self.resolver, format_checker=self.formats).iter_errors(instance),
            key=lambda e: list(e.path))
        if errors:
            msgs = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}"
                             for e in errors[:5])
            raise AssertionError(f"{what} does not match the OpenAPI schema: {msgs}\n"
                                 f"body: {json.dumps(instance)[:2000]}")

    def component(self, name):
        return {"$ref": f"#/components/schemas/{name}"}

    def check_response(self, method, path, status, headers, body_text):
        """Fails unless (method, path, status) is documented and the body fits."""
        path = path.split("?", 1)[0]
        for regex, template, item in self.routes:
            if regex.match(path):
                break
        else:
            raise AssertionError(f"{path} is not in the OpenAPI document")
        op = item.get(method.lower())
        if op is None:
            raise AssertionError(f"{method} {template} is not in the OpenAPI document")
        responses = op["responses"]
        resp = responses.get(str(status), responses.get("default"))
        if resp is None:
            raise AssertionError(f"{method} {template} answered {status}, which the OpenAPI "
                                 f"document does not list ({sorted(responses)}); body: "
                                 f"{body_text[:500]}")
        resp = self._deref(resp)
        for name, h in (resp.get("headers") or {}).items():
            if h.get("required") and name.lower() not in {k.lower() for k in headers}:
                raise AssertionError(f"{method} {template} {status} lacks header {name}")
        content = resp.get("content")
        if not content:
            if body_text.strip():
                raise AssertionError(f"{method} {template} {status} should have no body, "
                                     f"got {body_text[:300]!r}")
            return None
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if "application/json" not in ctype:
            raise AssertionError(f"{method} {template} {status}: content-type {ctype!r}, "
                                 f"expected application/json")
        try:
            body = json.loads(body_text)
        except ValueError:
            raise AssertionError(f"{method} {template} {status}: body is not JSON: "
                                 f"{body_text[:300]!r}")
        self.validate(content["application/json"]["schema"], body,
                      f"{method} {template} {status}")
        return body


# -- REST --------------------------------------------------------------------
class Response:
    def __init__(self, method, path, status, headers, text, body):
        self.method, self.path, self.status = method, path, status
        self.headers, self.text, self.body = headers, text, body

    def __repr__(self):
        return f"{self.method} {self.path} -> {self.status} {self.text[:600]}"

    @property
    def error_code(self):
        try:
            return self.body["error"]["code"]
        except (TypeError, KeyError):
            return None


class Api:
    """REST client: every answer is checked against the OpenAPI document."""

    def __init__(self, server, session):
        self.server = server
        self.session = session
        self.openapi = OpenApi.get()

    async def request(self, method, path, token=None, json_body=None, data=None, headers=None,
                      expect=None, validate=True):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        extra = {"ssl": self.server.ssl} if self.server.ssl is not None else {}
        async with self.session.request(method, self.server.api_url + path, data=data,
                                        headers=h, **extra) as r:
            text = (await r.read()).decode("utf-8", "replace")
            hdrs = dict(r.headers)
            status = r.status
        body = None
        if validate:
            body = self.openapi.check_response(method, path, status, hdrs, text)
        elif text:
            try:
                body = json.loads(text)
            except ValueError:
                body = None
        resp = Response(method, path, status, hdrs, text, body)
        if expect is not None:
            status_ok = status == expect[0] if isinstance(expect, tuple) else status == expect
            if not status_ok:
                raise AssertionError(f"expected {expect}, got {resp!r}")
            if isinstance(expect, tuple) and resp.error_code != expect[1]:
                raise AssertionError(f"expected error {expect[1]!r}, got {resp!r}")
        return resp

    # -- endpoints -----------------------------------------------------------
    async def register(self, user, device_id=None, platform="ios", push_tokens=None,
                       capabilities=None, expect=200, **extra):
        body = {"deviceId": device_id or f"dev-{uuid.uuid4().hex[:8]}", "platform": platform}
        if push_tokens is not None:
            body["pushTokens"] = push_tokens
        if capabilities is not None:
            body["capabilities"] = capabilities
        body.update(extra)
        return await self.request("POST", "/v1/devices/register", user.token, body, expect=expect)

    async def devices(self, user, expect=200):
        return await self.request("GET", "/v1/devices", user.token, expect=expect)

    async def create(self, user, device_id, callees, type_="audio", expect=201, headers=None,
                     **extra):
        if isinstance(callees, str):
            callees = [callees]
        body = {"deviceId": device_id, "callees": callees, "type": type_}
        body.update(extra)
        return await self.request("POST", "/v1/calls", user.token, body, headers=headers,
                                  expect=expect)

    async def get_call(self, user, call_id, expect=200):
        return await self.request("GET", f"/v1/calls/{call_id}", user.token, expect=expect)

    async def action(self, user, call_id, action, device_id, expect=200, **extra):
        body = {"deviceId": device_id}
        body.update(extra)
        return await self.request("POST", f"/v1/calls/{call_id}/{action}", user.token, body,
                                  expect=expect)

    async def sdp(self, user, call_id, device_id, sdp_type, sdp, expect=202):
        return await self.action(user, call_id, "sdp", device_id, expect=expect,
                                 sdpType=sdp_type, sdp=sdp)

    async def ice(self, user, call_id, device_id, candidate, expect=202, **extra):
        return await self.action(user, call_id, "ice", device_id, expect=expect,
                                 candidate=candidate, **extra)

    async def turn_credentials(self, call_token, expect=200):
        return await self.request("POST", "/v1/turn/credentials", call_token, expect=expect)

    async def wait_call(self, user, call_id, pred, timeout=10.0, what="call condition"):
        """Polls GET /v1/calls/{id} until pred(call) holds; returns the call."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = (await self.get_call(user, call_id)).body["call"]
            if pred(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached in {timeout}s; call: {json.dumps(last)}")
            await asyncio.sleep(0.1)


# -- WebSocket ---------------------------------------------------------------
class EventSocket:
    """One device's /v1/events socket; collects every server event."""

    def __init__(self, server, user, device_id):
        self.server, self.user, self.device_id = server, user, device_id
        self.ws = None
        self.hello_ok = None
        self.events = []
        self.other = []  # non-event messages after hello.ok
        self.errors = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._task = None
        self.openapi = OpenApi.get()

    async def connect(self, query=False, foreground=True, timeout=5.0):
        if query:
            url = f"{self.server.ws_url}?access_token={self.user.token}"
            headers = {}
        else:
            url = self.server.ws_url
            headers = {"Authorization": f"Bearer {self.user.token}"}
        extra = {"ssl": self.server.ssl} if self.server.ssl is not None else {}
        self.ws = await asyncio.wait_for(
            websockets.connect(url, extra_headers=headers, open_timeout=timeout,
                               max_size=None, close_timeout=2, **extra), timeout)
        await self.ws.send(json.dumps({"event": "hello", "deviceId": self.device_id,
                                       "foreground": foreground}))
        first = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.openapi.validate(self.openapi.component("HelloOk"), first, "hello.ok")
        if first.get("deviceId") != self.device_id:
            raise AssertionError(f"hello.ok for {first.get('deviceId')}, sent {self.device_id}")
        self.hello_ok = first
        self._task = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    self.errors.append(f"not JSON: {raw[:200]!r}")
                    continue
                if isinstance(msg, dict) and msg.get("event", "").startswith(("call.", "signal.")):
                    try:
                        self.openapi.validate(self.openapi.component("Event"), msg,
                                              f"event on {self.device_id}")
                    except AssertionError as e:
                        self.errors.append(str(e))
                    self.events.append(msg)
                else:
                    self.other.append(msg)
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    def check_errors(self):
        if self.errors:
            raise AssertionError("; ".join(self.errors))

    def of(self, call_id, name=None):
        return [e for e in self.events if e.get("callId") == call_id
                and (name is None or e.get("event") == name)]

    async def wait(self, pred, timeout=5.0, what="event"):
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                self.check_errors()
                for e in self.events:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(e.get("event"), e.get("callId"), e.get("data")) for e in self.events]
                    raise AssertionError(f"{self.device_id}: no {what} in {timeout}s; got "
                                         f"{json.dumps(seen)[:1500]}")
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except asyncio.TimeoutError:
                    pass

    async def wait_event(self, call_id, name, timeout=5.0, **data):
        def pred(e):
            return (e.get("callId") == call_id and e.get("event") == name
                    and all(e.get("data", {}).get(k) == v for k, v in data.items()))
        return await self.wait(pred, timeout, f"{name} {data or ''} for {call_id}")

    async def quiet(self, pred, duration=1.0):
        """Fails if an event matching pred arrives within duration."""
        await asyncio.sleep(duration)
        self.check_errors()
        hits = [e for e in self.events if pred(e)]
        if hits:
            raise AssertionError(f"{self.device_id}: unexpected {json.dumps(hits)[:800]}")

    async def send(self, msg):
        await self.ws.send(json.dumps(msg))

    async def close(self):
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 3)
            except Exception:
                pass
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 3)
            except Exception:
                self._task.cancel()


# -- base test case ----------------------------------------------------------
class ServerTestCase(unittest.IsolatedAsyncioTestCase):
    """One server per test class (config: CONFIG overrides)."""

    CONFIG = {}
    server = None

    @classmethod
    def setUpClass(cls):
        server = Server(cls.CONFIG)
        try:
            server.start()
        except BaseException:
            server.cleanup()
            raise
        cls.server = server

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.cleanup()

    async def asyncSetUp(self):
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        self.api = Api(self.server, self.session)
        self.sockets = []

    async def asyncTearDown(self):
        for s in self.sockets:
            await s.close()
        errors = [e for s in self.sockets for e in s.errors]
        await self.session.close()
        if errors:
            raise AssertionError("event schema violations: " + "; ".join(errors))

    def reopen_session(self):
        """After a restart: REST goes to the new ports."""
        self.api = Api(self.server, self.session)

    # -- helpers ------------------------------------------------------------
    def user(self, prefix="u"):
        return User(prefix)

    async def device(self, user, platform="ios", **kw):
        resp = await self.api.register(user, platform=platform, **kw)
        return resp.body["device"]["deviceId"]

    async def socket(self, user, device_id, query=False, foreground=True):
        s = EventSocket(self.server, user, device_id)
        await s.connect(query=query, foreground=foreground)
        self.sockets.append(s)
        return s

    async def online(self, user, platform="ios", **kw):
        """A registered device with a live foreground socket."""
        dev = await self.device(user, platform=platform, **kw)
        return dev, await self.socket(user, dev)

    async def ringing_call(self, type_="audio"):
        """A (caller, caller device, caller socket) -> B (one online device) call."""
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        created = (await self.api.create(a, adev, b.id, type_)).body
        cid = created["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        return dict(a=a, adev=adev, asock=asock, b=b, bdev=bdev, bsock=bsock, cid=cid,
                    created=created)

    async def metrics_text(self):
        async with self.session.get(self.server.metrics_url) as r:
            self.assertEqual(r.status, 200)
            return await r.text()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text -> [(name, {label: value}, float)]."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            out.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")),
                        float(m.group(3))))
    return out


def participant(call, user_id):
    for p in call["participants"]:
        if p["userId"] == user_id:
            return p
    raise AssertionError(f"no participant {user_id} in {json.dumps(call)}")
