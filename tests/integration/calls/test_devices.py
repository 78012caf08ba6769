"""Devices, authentication and request-body rules of the call API."""

import asyncio
import json
import os
import unittest
import uuid

import websockets
import yaml

from harness import (OPENAPI_PATH, OpenApi, ServerTestCase, User, user_token)


class OpenApiDocumentTest(unittest.TestCase):
    """The document itself: OpenAPI 3.0, every contract path and schema."""

    def test_document_lists_the_contract(self):
        with open(OPENAPI_PATH) as f:
            doc = yaml.safe_load(f)
        self.assertTrue(str(doc["openapi"]).startswith("3.0"))
        expected = {
            "/v1/devices/register": {"post"}, "/v1/devices/heartbeat": {"post"},
            "/v1/devices": {"get"}, "/v1/devices/{deviceId}": {"delete"},
            "/v1/calls": {"post"}, "/v1/calls/{callId}": {"get"},
            "/v1/calls/{callId}/ringing": {"post"}, "/v1/calls/{callId}/accept": {"post"},
            "/v1/calls/{callId}/decline": {"post"}, "/v1/calls/{callId}/connected": {"post"},
            "/v1/calls/{callId}/end": {"post"}, "/v1/calls/{callId}/sdp": {"post"},
            "/v1/calls/{callId}/ice": {"post"}, "/v1/turn/credentials": {"post"},
            "/v1/events": {"get"},
        }
        for path, methods in expected.items():
            self.assertIn(path, doc["paths"])
            self.assertEqual(methods, set(doc["paths"][path]) & {"get", "post", "delete", "put"})
        for name in ("Device", "Call", "Participant", "Error", "TurnCredentials", "CallAnswer"):
            self.assertIn(name, doc["components"]["schemas"])
        self.assertEqual({"call", "callToken", "turn"},
                         set(doc["components"]["schemas"]["CallAnswer"]["required"]))

    def test_document_is_valid_openapi_3_0(self):
        # The OpenAPI Initiative's own schema of 3.0 documents (Debian's
        # openapi-specification package).
        import jsonschema
        with open("/usr/share/openapi-specification/schemas/v3.0/schema.json") as f:
            meta = json.load(f)
        with open(OPENAPI_PATH) as f:
            doc = yaml.safe_load(f)
        errors = list(jsonschema.validators.validator_for(meta)(meta).iter_errors(doc))
        self.assertEqual([], [f"{list(e.path)}: {e.message}" for e in errors[:5]])

    def test_schemas_are_valid_json_schema(self):
        import jsonschema
        api = OpenApi.get()
        for name, schema in api.doc["components"]["schemas"].items():
            jsonschema.Draft7Validator.check_schema(schema)
        # And they are strict: a wrong Call is refused.
        with self.assertRaises(AssertionError):
            api.validate(api.component("Call"), {"callId": "x", "state": "flying"}, "call")


class DevicesTest(ServerTestCase):

    async def test_register_returns_device(self):
        u = User()
        dev = f"dev-{uuid.uuid4().hex[:6]}"
        r = await self.api.register(
            u, dev, "ios",
            push_tokens=[{"kind": "voip", "token": "a" * 56 + "12345678", "env": "sandbox"},
                         {"kind": "apns", "token": "b" * 56 + "87654321"}],
            capabilities={"video": True, "callkit": True})
        d = r.body["device"]
        self.assertEqual(dev, d["deviceId"])
        self.assertEqual("ios", d["platform"])
        self.assertEqual(2, len(d["pushTokens"]))
        self.assertTrue(d["capabilities"]["video"])
        self.assertTrue(d["capabilities"]["callkit"])
        self.assertTrue(d["capabilities"]["calls"], "capabilities.calls defaults to true")
        for t in d["pushTokens"]:
            self.assertNotIn("a" * 20, t["token"], "a full token came back")
            self.assertNotIn("b" * 20, t["token"], "a full token came back")

    async def test_list_masks_tokens(self):
        u = User()
        voip = uuid.uuid4().hex + "VOIPTAIL"
        fcm = uuid.uuid4().hex + uuid.uuid4().hex + "FCM12345"
        await self.api.register(u, "phone", "ios",
                                push_tokens=[{"kind": "voip", "token": voip}])
        await self.api.register(u, "droid", "android",
                                push_tokens=[{"kind": "fcm", "token": fcm}])
        devices = (await self.api.devices(u)).body["devices"]
        self.assertEqual({"phone", "droid"}, {d["deviceId"] for d in devices})
        tokens = {d["deviceId"]: d["pushTokens"] for d in devices}
        self.assertEqual("\u2026" + "VOIPTAIL", tokens["phone"][0]["token"])
        self.assertEqual("voip", tokens["phone"][0]["kind"])
        self.assertEqual("\u2026" + "FCM12345", tokens["droid"][0]["token"])
        self.assertEqual("fcm", tokens["droid"][0]["kind"])
        self.assertEqual("production", tokens["phone"][0].get("env", "production"))

    async def test_users_see_only_their_devices(self):
        u1, u2 = User(), User()
        await self.api.register(u1, "mine")
        await self.api.register(u2, "theirs")
        self.assertEqual(["mine"], [d["deviceId"] for d in
                                    (await self.api.devices(u1)).body["devices"]])
        self.assertEqual(["theirs"], [d["deviceId"] for d in
                                      (await self.api.devices(u2)).body["devices"]])
        # The same deviceId under two users: two devices.
        await self.api.register(u2, "mine")
        self.assertEqual(["mine"], [d["deviceId"] for d in
                                    (await self.api.devices(u1)).body["devices"]])

    async def test_reregister_replaces_token_list(self):
        u = User()
        await self.api.register(u, "d", "android",
                                push_tokens=[{"kind": "fcm", "token": "x" * 40 + "OLDTOKEN"}])
        await self.api.register(u, "d", "android",
                                push_tokens=[{"kind": "fcm", "token": "y" * 40 + "NEWTOKEN"}])
        devices = (await self.api.devices(u)).body["devices"]
        self.assertEqual(1, len(devices))
        self.assertEqual(["\u2026NEWTOKEN"], [t["token"] for t in devices[0]["pushTokens"]])

    async def test_token_moves_to_the_device_that_registers_it(self):
        u = User()
        token = uuid.uuid4().hex + "MOVEDTOK"
        await self.api.register(u, "old", push_tokens=[{"kind": "voip", "token": token}])
        await self.api.register(u, "new", push_tokens=[{"kind": "voip", "token": token}])
        devices = {d["deviceId"]: d for d in (await self.api.devices(u)).body["devices"]}
        self.assertEqual([], devices["old"]["pushTokens"])
        self.assertEqual(["\u2026MOVEDTOK"], [t["token"] for t in devices["new"]["pushTokens"]])

    async def test_token_moves_across_users(self):
        u1, u2 = User(), User()
        token = uuid.uuid4().hex + "XUSERTOK"
        await self.api.register(u1, "phone", "android",
                                push_tokens=[{"kind": "fcm", "token": token}])
        await self.api.register(u2, "phone2", "android",
                                push_tokens=[{"kind": "fcm", "token": token}])
        d1 = (await self.api.devices(u1)).body["devices"][0]
        self.assertEqual([], d1["pushTokens"], "one token, one device")
        d2 = (await self.api.devices(u2)).body["devices"][0]
        self.assertEqual(["\u2026XUSERTOK"], [t["token"] for t in d2["pushTokens"]])

    async def test_heartbeat(self):
        u = User()
        await self.api.register(u, "hb", push_tokens=[{"kind": "voip", "token": "t" * 64}])
        r = await self.api.request("POST", "/v1/devices/heartbeat", u.token, {"deviceId": "hb"},
                                   expect=200)
        self.assertEqual("hb", r.body["deviceId"])
        # Not a registration: the tokens stay; the device was seen then.
        d = (await self.api.devices(u)).body["devices"][0]
        self.assertEqual(1, len(d["pushTokens"]))
        self.assertEqual(r.body["lastSeenAt"], d.get("lastSeenAt", r.body["lastSeenAt"]))
        await self.api.request("POST", "/v1/devices/heartbeat", u.token, {"deviceId": "nope"},
                               expect=(404, "not_found"))
        other = User()
        await self.api.request("POST", "/v1/devices/heartbeat", other.token, {"deviceId": "hb"},
                               expect=(404, "not_found"))

    async def test_delete(self):
        u, other = User(), User()
        await self.api.register(u, "gone")
        await self.api.register(u, "stays")
        await self.api.request("DELETE", "/v1/devices/gone", other.token, expect=(404, "not_found"))
        self.assertEqual(2, len((await self.api.devices(u)).body["devices"]))
        r = await self.api.request("DELETE", "/v1/devices/gone", u.token, expect=204)
        self.assertEqual("", r.text)
        self.assertEqual(["stays"], [d["deviceId"] for d in
                                     (await self.api.devices(u)).body["devices"]])
        await self.api.request("DELETE", "/v1/devices/gone", u.token, expect=(404, "not_found"))
        # A removed device no longer acts.
        await self.api.create(u, "gone", other.id, expect=(404, "not_found"))
        await self.api.request("POST", "/v1/devices/heartbeat", u.token, {"deviceId": "gone"},
                               expect=(404, "not_found"))

    async def test_unknown_fields_are_ignored(self):
        u = User()
        await self.api.register(u, "d", "web", futureField={"x": 1}, capabilities={"hologram": 1})

    async def test_wrong_types_name_the_field(self):
        u = User()
        cases = [
            ({"deviceId": 42, "platform": "ios"}, "deviceId"),
            ({"platform": "ios"}, "deviceId"),
            ({"deviceId": "d", "platform": "symbian"}, "platform"),
            ({"deviceId": "d", "platform": 7}, "platform"),
            ({"deviceId": "d", "platform": "ios", "pushTokens": "abc"}, "pushTokens"),
            ({"deviceId": "d", "platform": "ios", "pushTokens": [{"kind": "pager", "token": "t"}]},
             "kind"),
            ({"deviceId": "d", "platform": "ios", "capabilities": {"video": "yes"}}, "video"),
        ]
        for body, field in cases:
            r = await self.api.request("POST", "/v1/devices/register", u.token, body,
                                       expect=(400, "invalid_field"))
            self.assertIn(field, r.body["error"]["message"], f"{body} -> {r!r}")
        r = await self.api.request("POST", "/v1/devices/heartbeat", u.token, {"deviceId": []},
                                   expect=(400, "invalid_field"))
        self.assertIn("deviceId", r.body["error"]["message"])

    async def test_bad_json(self):
        u = User()
        for data in (b"{not json", b"", b"[1,2]", b"\"a string\"", b"{\"deviceId\": \"d\""):
            await self.api.request("POST", "/v1/devices/register", u.token, data=data,
                                   expect=(400, "invalid_json"))

    async def test_oversize_body(self):
        u = User()
        body = json.dumps({"deviceId": "d", "platform": "ios", "pad": "x" * (65 * 1024)})
        await self.api.request("POST", "/v1/devices/register", u.token, data=body,
                               expect=(413, "body_too_large"))
        # The server is fine afterwards.
        await self.api.register(u, "d")


class AuthTest(ServerTestCase):

    async def _refused(self, token, path="/v1/devices", method="GET"):
        await self.api.request(method, path, token, expect=(401, "unauthorized"))

    async def test_missing_token(self):
        await self._refused(None)
        await self.api.request("POST", "/v1/calls", None,
                               {"deviceId": "d", "callees": ["x"], "type": "audio"},
                               expect=(401, "unauthorized"))
        await self.api.request("GET", f"/v1/calls/{uuid.uuid4()}", None,
                               expect=(401, "unauthorized"))
        await self.api.request("POST", "/v1/devices/register", None,
                               {"deviceId": "d", "platform": "ios"}, expect=(401, "unauthorized"))
        await self.api.request("GET", "/v1/devices", None, headers={"Authorization": "Basic eDp5"},
                               expect=(401, "unauthorized"))

    async def test_expired_token(self):
        await self._refused(user_token("late", exp_in=-120))

    async def test_bad_signature(self):
        await self._refused(user_token("forger", secret="not-the-secret"))
        good = user_token("tamper")
        head, payload, sig = good.split(".")
        await self._refused(f"{head}.{payload}.{sig[:-4]}AAAA")
        await self._refused("not.a.jwt")
        await self._refused("garbage")

    async def test_token_without_exp_or_sub(self):
        import jwt
        await self._refused(jwt.encode({"sub": "noexp"}, "test-user-secret", algorithm="HS256"))
        import time
        await self._refused(jwt.encode({"exp": int(time.time()) + 600}, "test-user-secret",
                                       algorithm="HS256"))

    async def test_alg_none_refused(self):
        import jwt
        import time
        token = jwt.encode({"sub": "none", "exp": int(time.time()) + 600}, None, algorithm="none")
        await self._refused(token)

    async def test_valid_token_accepted_header_and_query(self):
        u = User()
        await self.api.devices(u)
        await self.api.register(u, "d1")
        s = await self.socket(u, "d1", query=True)
        self.assertEqual(0, s.hello_ok["replayed"])

    async def test_websocket_refused_without_token(self):
        for headers, url in (({}, self.server.ws_url),
                             ({"Authorization": "Bearer " + user_token("x", exp_in=-60)},
                              self.server.ws_url),
                             ({}, self.server.ws_url + "?access_token=bogus")):
            with self.assertRaises(websockets.InvalidStatusCode) as ctx:
                ws = await websockets.connect(url, extra_headers=headers, open_timeout=5)
                await ws.close()
            self.assertEqual(401, ctx.exception.status_code)

    async def test_user_token_on_turn_credentials(self):
        u = User()
        await self.api.turn_credentials(u.token, expect=(401, "unauthorized"))
        await self.api.request("POST", "/v1/turn/credentials", None, expect=(401, "unauthorized"))


class AudienceTest(ServerTestCase):
    """api.user_tokens.issuer/audience are checked when set."""

    CONFIG = {"api": {"user_tokens": {"hs256_secrets": ["test-user-secret", "second-user-secret"],
                                      "issuer": "https://backend.example",
                                      "audience": "turnpike"}}}

    async def test_issuer_and_audience(self):
        good = user_token("ok", iss="https://backend.example", aud="turnpike")
        await self.api.request("GET", "/v1/devices", good, expect=200)
        rotated = user_token("ok2", secret="second-user-secret", iss="https://backend.example",
                             aud="turnpike")
        await self.api.request("GET", "/v1/devices", rotated, expect=200)
        for token in (user_token("x", iss="https://backend.example", aud="someone-else"),
                      user_token("x", iss="https://evil.example", aud="turnpike"),
                      user_token("x")):
            await self.api.request("GET", "/v1/devices", token, expect=(401, "unauthorized"))


class PublicKeyTokensTest(ServerTestCase):
    """api.user_tokens.public_keys: ES256, RS256 and EdDSA, several at once."""

    @classmethod
    def setUpClass(cls):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        import tempfile
        cls.keydir = tempfile.mkdtemp(prefix="turnpike-keys-")
        cls.keys = {"ES256": ec.generate_private_key(ec.SECP256R1()),
                    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    "EdDSA": ed25519.Ed25519PrivateKey.generate()}
        paths = []
        for alg, key in cls.keys.items():
            path = os.path.join(cls.keydir, f"{alg}.pem")
            with open(path, "wb") as f:
                f.write(key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
            paths.append(path)
        cls.CONFIG = {"api": {"user_tokens": {"hs256_secrets": [], "public_keys": paths}}}
        cls.stranger = ec.generate_private_key(ec.SECP256R1())
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        import shutil
        shutil.rmtree(cls.keydir, ignore_errors=True)

    def sign(self, key, alg, sub, exp_in=600):
        import jwt
        import time
        return jwt.encode({"sub": sub, "exp": int(time.time()) + exp_in}, key, algorithm=alg)

    async def test_each_algorithm(self):
        for alg, key in self.keys.items():
            with self.subTest(alg=alg):
                token = self.sign(key, alg, f"pk-{alg}")
                await self.api.request("GET", "/v1/devices", token, expect=200)
                await self.api.request("GET", "/v1/devices", self.sign(key, alg, "x", -60),
                                       expect=(401, "unauthorized"))

    async def test_unknown_key_and_hs256_refused(self):
        await self.api.request("GET", "/v1/devices", self.sign(self.stranger, "ES256", "s"),
                               expect=(401, "unauthorized"))
        await self.api.request("GET", "/v1/devices", user_token("hs"),
                               expect=(401, "unauthorized"))


class TlsApiTest(ServerTestCase):
    """api.tls: true with tls.certificate/tls.private_key: HTTPS and WSS on
    the same port, the certificate checked (trusted explicitly)."""

    @classmethod
    def setUpClass(cls):
        import datetime
        import ipaddress
        import ssl
        import tempfile
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        cls.certdir = tempfile.mkdtemp(prefix="turnpike-cert-")
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        cert_path = os.path.join(cls.certdir, "cert.pem")
        key_path = os.path.join(cls.certdir, "key.pem")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        cls.CONFIG = {"api": {"tls": True},
                      "tls": {"certificate": cert_path, "private_key": key_path}}
        super().setUpClass()
        cls.server.ssl = ssl.create_default_context(cafile=cert_path)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        import shutil
        shutil.rmtree(cls.certdir, ignore_errors=True)

    async def test_https_and_wss(self):
        self.assertIn("api on https://127.0.0.1:", self.server.log())
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        await self.api.action(b, cid, "accept", bdev)
        await asock.wait_event(cid, "call.accepted")

    async def test_plain_http_not_served_on_tls_port(self):
        import aiohttp
        u = User()
        try:
            async with self.session.get(f"http://127.0.0.1:{self.server.ports['api']}/v1/devices",
                                        headers={"Authorization": f"Bearer {u.token}"},
                                        timeout=aiohttp.ClientTimeout(total=5)) as r:
                self.assertNotEqual(200, r.status, "the API answered in clear on its TLS port")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        await self.api.devices(u)  # still fine over TLS

if __name__ == "__main__":
    unittest.main()
