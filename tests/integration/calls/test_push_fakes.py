"""Checks the push fakes themselves with a client none of us wrote: the curl CLI
(HTTP/2 over TLS with ALPN), PyJWT for the provider JWT and the OAuth assertion,
keys read back from the files PushMaterial wrote."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import jwt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_fakes import FCM_SCOPE, FakeProviders, PushMaterial  # noqa: E402

CURL = shutil.which("curl")
DEVICE = "a1b2c3d4" * 8  # 64 hex digits, like an APNs token


def curl(url, ca_file, headers=(), body=b"", method="POST"):
    """One request through curl: (status, {header: value}, body bytes, http_version)."""
    with tempfile.TemporaryDirectory() as tmp:
        head_path, body_path = os.path.join(tmp, "head"), os.path.join(tmp, "body")
        command = [CURL, "-sS", "--http2", "--cacert", ca_file, "--max-time", "10",
                   "-X", method, "-D", head_path, "-o", body_path, "-w", "%{http_version}"]
        for header in headers:
            command += ["-H", header]
        if body is not None:
            command += ["--data-binary", "@-"]
        done = subprocess.run(command + [url], input=body, capture_output=True, timeout=30)
        if done.returncode != 0:
            return None, {}, done.stderr, None
        with open(head_path, "rb") as f:
            lines = f.read().decode().splitlines()
        with open(body_path, "rb") as f:
            answer = f.read()
    status_at = max(i for i, line in enumerate(lines) if line.startswith("HTTP/"))
    fields = dict(line.split(": ", 1) for line in lines[status_at + 1:] if ": " in line)
    status = int(lines[status_at].split()[1])
    return status, {k.lower(): v for k, v in fields.items()}, answer, done.stdout.decode()


@unittest.skipUnless(CURL, "needs the curl CLI")
class PushFakesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.mkdtemp(prefix="push-fakes-")
        cls.material = PushMaterial(cls.tmpdir)
        with open(cls.material.apns_key_path) as f:
            cls.apns_key = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmpdir, ignore_errors=True)

    def setUp(self):
        self.fake = FakeProviders(self.material).start()
        self.addCleanup(self.fake.stop)

    # -- helpers ---------------------------------------------------------------
    def provider_jwt(self, iat=None):
        return jwt.encode({"iss": self.material.team_id, "iat": iat or int(time.time())},
                          self.apns_key, algorithm="ES256",
                          headers={"kid": self.material.key_id})

    def invite(self, call_id="call-1"):
        now_ms = int(time.time() * 1000)
        return {"event": "incoming_call", "callId": call_id, "fromUserId": "alice",
                "type": "audio", "timestamp": now_ms, "ttlSeconds": 30,
                "expiresAt": now_ms + 30000, "callerDisplayName": "Alice"}

    def send_voip(self, token=DEVICE, topic=None, bearer=None, apns_id=None, body=None):
        body = body or self.invite()
        headers = [f"authorization: bearer {bearer or self.provider_jwt()}",
                   "apns-push-type: voip",
                   f"apns-topic: {topic or self.material.bundle_id + '.voip'}",
                   "apns-priority: 10",
                   f"apns-expiration: {body['expiresAt'] // 1000}"]
        if apns_id:
            headers.append(f"apns-id: {apns_id}")
        return curl(f"{self.fake.url}/3/device/{token}", self.material.ca_file, headers,
                    json.dumps(body).encode())

    def send_alert(self, call_id="call-1", collapse_id=None):
        body = {"aps": {"alert": {"title": "Missed call", "body": "Alice"}, "sound": "default"},
                "event": "missed_call", "callId": call_id}
        headers = [f"authorization: bearer {self.provider_jwt()}", "apns-push-type: alert",
                   f"apns-topic: {self.material.bundle_id}", "apns-priority: 10",
                   "apns-expiration: 0", f"apns-collapse-id: {collapse_id or call_id}"]
        return curl(f"{self.fake.url}/3/device/{DEVICE}", self.material.ca_file, headers,
                    json.dumps(body).encode())

    def access_token(self):
        with open(self.material.service_account_path) as f:
            account = json.load(f)
        now = int(time.time())
        assertion = jwt.encode({"iss": account["client_email"], "scope": FCM_SCOPE,
                                "aud": account["token_uri"], "iat": now, "exp": now + 3600},
                               account["private_key"], algorithm="RS256",
                               headers={"kid": account["private_key_id"]})
        form = f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" \
               f"&assertion={assertion}"
        status, _, body, _ = curl(account["token_uri"], self.material.ca_file,
                                  ["content-type: application/x-www-form-urlencoded"],
                                  form.encode())
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def send_fcm(self, access_token, token="fcm-token-1", data=None, ttl="30s"):
        data = data or {k: str(v) for k, v in self.invite().items()}
        message = {"message": {"token": token, "data": data,
                               "android": {"priority": "HIGH", "ttl": ttl,
                                           "collapse_key": data["callId"]}}}
        return curl(f"{self.fake.url}/v1/projects/{self.material.project_id}/messages:send",
                    self.material.ca_file,
                    [f"authorization: Bearer {access_token}", "content-type: application/json"],
                    json.dumps(message).encode())

    # -- APNs ----------------------------------------------------------------------
    def test_apns_voip_invite_is_accepted(self):
        apns_id = str(uuid.uuid4())
        bearer = self.provider_jwt()
        status, headers, body, version = self.send_voip(bearer=bearer, apns_id=apns_id)
        self.assertEqual((status, version, body), (200, "2", b""))
        self.assertEqual(headers["apns-id"], apns_id)
        [request] = self.fake.wait_for(lambda r: r.kind == "apns")
        self.assertEqual((request.token, request.status, request.error), (DEVICE, 200, None))
        self.assertEqual(request.headers["apns-push-type"], "voip")
        self.assertEqual(request.json["event"], "incoming_call")
        self.assertEqual(request.apns_jwt, bearer)
        self.assertEqual(self.fake.apns_jwts, [bearer])
        self.assertEqual(self.fake.errors, [])

    def test_apns_missed_call_alert_is_accepted(self):
        self.assertEqual(self.send_alert()[0], 200)
        self.assertEqual(self.send_alert(collapse_id="other")[0], 200)  # APNs takes it...
        self.assertEqual(len(self.fake.errors), 1)                      # ...our contract not
        self.assertIn("apns-collapse-id", self.fake.errors[0])

    def test_apns_secret_in_voip_body_is_answered_but_recorded(self):
        body = dict(self.invite(), callToken="eyJhbGciOi.eyJzdWIi.c2ln")
        self.assertEqual(self.send_voip(body=body)[0], 200)
        [request] = self.fake.requests
        self.assertIn("callToken looks like a secret", request.error)
        self.assertEqual(len(self.fake.errors), 1)

    def test_apns_wrong_topic_is_refused_and_recorded(self):
        status, _, body, _ = self.send_voip(topic=self.material.bundle_id)
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body), {"reason": "DeviceTokenNotForTopic"})
        status, _, body, _ = self.send_voip(topic="com.example.other")
        self.assertEqual((status, json.loads(body)), (400, {"reason": "BadTopic"}))
        self.assertEqual(len(self.fake.errors), 2)
        self.assertTrue(all(r.error for r in self.fake.requests))

    def test_apns_bad_provider_token_is_refused(self):
        stale = self.provider_jwt(iat=int(time.time()) - 4000)
        status, _, body, _ = self.send_voip(bearer=stale)
        self.assertEqual((status, json.loads(body)), (403, {"reason": "ExpiredProviderToken"}))
        forged = jwt.encode({"iss": self.material.team_id, "iat": int(time.time())},
                            "not the key", algorithm="HS256",
                            headers={"kid": self.material.key_id})
        status, _, body, _ = self.send_voip(bearer=forged)
        self.assertEqual((status, json.loads(body)), (403, {"reason": "InvalidProviderToken"}))
        self.assertEqual(len(self.fake.errors), 2)

    def test_apns_scripted_outcomes_then_ok(self):
        self.fake.script(DEVICE, ("unregistered", 1700000000000), "bad_token", ("429", 3),
                         "other_4xx")
        answers = [self.send_voip() for _ in range(5)]
        self.assertEqual([a[0] for a in answers], [410, 400, 429, 400, 200])
        self.assertEqual(json.loads(answers[0][2]),
                         {"reason": "Unregistered", "timestamp": 1700000000000})
        self.assertEqual(json.loads(answers[1][2]), {"reason": "BadDeviceToken"})
        self.assertEqual(answers[2][1]["retry-after"], "3")
        self.assertEqual(json.loads(answers[3][2]), {"reason": "BadExpirationDate"})
        self.assertEqual(self.fake.errors, [])

    def test_apns_expired_provider_token_wants_a_new_jwt(self):
        self.fake.script(DEVICE, "expired_provider_token")
        old = self.provider_jwt(iat=int(time.time()) - 10)
        self.assertEqual(self.send_voip(bearer=old)[0], 403)
        self.assertEqual(self.send_voip(bearer=old)[0], 403)  # in flight: not an error
        new = self.provider_jwt()
        self.assertEqual(self.send_voip(bearer=new)[0], 200)
        self.assertEqual(self.fake.apns_jwts, [old, new])
        self.assertEqual(self.fake.errors, [])

    def test_goaway_refuses_the_stream(self):
        self.fake.script(DEVICE, "goaway")
        status, _, error, _ = self.send_voip()  # curl does not retry a refused POST
        self.assertIsNone(status)
        self.assertIn(b"HTTP2", error)
        self.assertEqual(self.send_voip()[0], 200)
        self.assertEqual([r.status for r in self.fake.requests], [None, 200])
        self.assertEqual(self.fake.connections_accepted, 2)
        self.assertEqual(self.fake.errors, [])

    def test_drop_closes_without_answer(self):
        self.fake.script(DEVICE, "drop")
        status, _, error, _ = self.send_voip()
        self.assertIsNone(status, error)
        self.assertEqual(self.send_voip()[0], 200)
        self.assertEqual(self.fake.errors, [])

    def test_kill_connections_aborts_a_waiting_request(self):
        self.fake.script(DEVICE, ("slow", 8))
        started = time.monotonic()
        result = []
        waiter = threading.Thread(target=lambda: result.append(self.send_voip()))
        waiter.start()
        self.fake.wait_for(lambda r: r.outcome == ("slow", 8))
        self.fake.kill_connections()
        waiter.join(10)
        self.assertIsNone(result[0][0])
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual([r.status for r in self.fake.requests], [None])

    # -- OAuth and FCM ----------------------------------------------------------------
    def test_oauth_exchange_then_fcm_send(self):
        grant = self.access_token()
        self.assertEqual(grant["token_type"], "Bearer")
        self.assertEqual(grant["expires_in"], 3600)
        status, _, body, version = self.send_fcm(grant["access_token"])
        self.assertEqual((status, version), (200, "2"))
        self.assertRegex(json.loads(body)["name"], r"^projects/turnpike-test/messages/.+")
        fcm = self.fake.wait_for(lambda r: r.kind == "fcm")[0]
        self.assertEqual((fcm.token, fcm.status, fcm.error), ("fcm-token-1", 200, None))
        self.assertEqual(self.fake.oauth_tokens_issued, 1)
        self.assertEqual(self.fake.errors, [])

    def test_fcm_scripted_outcomes(self):
        token = self.access_token()["access_token"]
        self.fake.script("fcm-token-1", ("unregistered", 1), "sender_mismatch",
                         "fcm_unauthenticated")
        status, _, body, _ = self.send_fcm(token)
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["error"]["details"][0]["errorCode"], "UNREGISTERED")
        status, _, body, _ = self.send_fcm(token)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["error"]["details"][0]["errorCode"],
                         "SENDER_ID_MISMATCH")
        status, headers, body, _ = self.send_fcm(token)
        self.assertEqual((status, json.loads(body)["error"]["status"]), (401, "UNAUTHENTICATED"))
        self.assertNotIn("details", json.loads(body)["error"])
        self.assertEqual(self.send_fcm(token)[0], 401)  # the bearer is revoked now
        self.assertEqual(self.send_fcm(self.access_token()["access_token"])[0], 200)
        self.assertEqual(self.fake.errors, [])

    def test_fcm_cancel_is_accepted(self):
        token = self.access_token()["access_token"]
        cancel = {"event": "call_cancelled", "callId": "call-1", "reason": "caller_cancelled"}
        self.assertEqual(self.send_fcm(token, data=cancel, ttl="60s")[0], 200)
        self.assertEqual(self.fake.errors, [])
        status, _, body, _ = self.send_fcm(token, data=dict(cancel, n=1))  # not a string
        self.assertEqual((status, json.loads(body)["error"]["status"]),
                         (400, "INVALID_ARGUMENT"))
        self.assertEqual(len(self.fake.errors), 1)

    def test_fcm_refuses_a_bearer_it_never_issued(self):
        status, headers, body, _ = self.send_fcm("ya29.made-up")
        self.assertEqual((status, json.loads(body)["error"]["status"]), (401, "UNAUTHENTICATED"))
        self.assertEqual(len(self.fake.errors), 1)

    def test_oauth_refuses_an_assertion_from_another_key(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = other.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        now = int(time.time())
        assertion = jwt.encode({"iss": self.material.client_email, "scope": FCM_SCOPE,
                                "aud": self.material.token_uri, "iat": now, "exp": now + 3600},
                               pem, algorithm="RS256")
        form = ("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion="
                + assertion).encode()
        status, _, body, _ = curl(self.fake.token_uri, self.material.ca_file,
                                  ["content-type: application/x-www-form-urlencoded"], form)
        self.assertEqual((status, json.loads(body)["error"]), (400, "invalid_grant"))
        self.assertEqual(self.fake.oauth_tokens_issued, 0)
        self.assertEqual(len(self.fake.errors), 1)


@unittest.skipUnless(CURL, "needs the curl CLI")
class StandaloneModeTest(unittest.TestCase):
    def test_serves_until_stdin_closes(self):
        tmpdir = tempfile.mkdtemp(prefix="push-fakes-main-")
        self.addCleanup(shutil.rmtree, tmpdir, True)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "push_fakes.py")
        proc = subprocess.Popen([sys.executable, script, "--dir", tmpdir, "--port", "0"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.addCleanup(proc.kill)
        info = json.loads(proc.stdout.readline())
        self.assertEqual(info["team_id"], PushMaterial.team_id)
        status, _, _, _ = curl(info["url"] + "/3/device/abc", info["ca_file"],
                               ["apns-push-type: voip"], b"{}")
        self.assertEqual(status, 403)  # no provider token
        proc.stdin.close()
        self.assertEqual(proc.wait(10), 0)
        report = json.loads(proc.stderr.read().decode().strip().splitlines()[-1])
        self.assertEqual(report["requests"], {"apns 403": 1})
        proc.stdout.close()
        proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
