"""Push through the real binary: APNs VoIP and FCM HTTP v1 against local fakes
(push_fakes.py: real HTTP/2 over TLS with a test CA, checking what Apple and
Google check), driven through the /v1 API with independent clients."""

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
import types
import unittest
import uuid

import yaml

from harness import (ADMIN_TOKEN, BINARY, Server, ServerTestCase, base_config, merge,
                     parse_metrics)
from push_fakes import FakeProviders, PushMaterial

RING = 4  # seconds: short, so timeouts are tested quickly
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def token(prefix):
    return f"{prefix}{uuid.uuid4().hex}"


class PushTestCase(ServerTestCase):
    """A server whose push.* points at two fakes: production (APNs, FCM and the
    OAuth token endpoint) and sandbox (APNs)."""

    OAUTH_EXPIRES_IN = 3600
    EXTRA = {}

    @classmethod
    def setUpClass(cls):
        cls.material_dir = tempfile.mkdtemp(prefix="turnpike-push-")
        cls.material = PushMaterial(cls.material_dir)
        cls.fake = FakeProviders(cls.material, "production",
                                 oauth_expires_in=cls.OAUTH_EXPIRES_IN).start()
        cls.sandbox = FakeProviders(cls.material, "sandbox").start()
        account = cls.material.write_service_account(cls.fake.token_uri)
        cls.CONFIG = merge({
            "calls": {"ring_timeout": f"{RING}s"},
            "push": {
                "apns": {"team_id": cls.material.team_id, "key_id": cls.material.key_id,
                         "private_key": cls.material.apns_key_path,
                         "bundle_id": cls.material.bundle_id,
                         "production_url": cls.fake.url, "sandbox_url": cls.sandbox.url},
                "fcm": {"service_account": account, "url": cls.fake.url},
                "ca_file": cls.material.ca_file,
            },
        }, cls.EXTRA)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.fake.stop()
        cls.sandbox.stop()

    async def asyncTearDown(self):
        await super().asyncTearDown()
        self.assertEqual([], self.fake.errors + self.sandbox.errors,
                         "requests the real providers would refuse")

    # -- helpers ----------------------------------------------------------------
    async def ios(self, user, voip=None, apns=None, env="production", **kw):
        tokens = []
        if voip:
            tokens.append({"kind": "voip", "token": voip, "env": env})
        if apns:
            tokens.append({"kind": "apns", "token": apns, "env": env})
        return await self.device(user, "ios", push_tokens=tokens, **kw)

    async def android(self, user, fcm, **kw):
        return await self.device(user, "android", push_tokens=[{"kind": "fcm", "token": fcm}],
                                 **kw)

    async def ring_ios(self, *outcomes):
        """A caller with a socket calls a new iOS callee whose VoIP token gets
        `outcomes` from the fake; the call's parts by name."""
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        voip = token("voip")
        if outcomes:
            self.fake.script(voip, *outcomes)
        await self.ios(b, voip=voip)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        return types.SimpleNamespace(a=a, adev=adev, asock=asock, b=b, voip=voip, cid=cid)

    def pushes(self, tok, fake=None):
        return [r for r in (fake or self.fake).requests if r.token == tok]

    async def wait_pushes(self, tok, count=1, timeout=10.0, fake=None):
        fake = fake or self.fake
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.pushes(tok, fake)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.02)
        self.fail(f"{count} push(es) to {tok} expected, got {len(self.pushes(tok, fake))}")

    async def admin_call(self, cid):
        url = f"{self.server.control_url}/admin/calls/{cid}"
        async with self.session.get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
            self.assertEqual(200, r.status)
            return await r.json()

    async def push_timeline(self, cid, want=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            body = await self.admin_call(cid)
            entries = [e for e in body["timeline"] if e["event"] == "push"]
            if len(entries) >= want or time.monotonic() > deadline:
                return entries
            await asyncio.sleep(0.05)

    async def metric(self, name, **labels):
        total = 0.0
        for n, lab, v in parse_metrics(await self.metrics_text()):
            if n == name and all(lab.get(k) == val for k, val in labels.items()):
                total += v
        return total


class TestInvites(PushTestCase):
    async def test_ios_android_and_web_callee_each_ring_their_way(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        voip, fcm = token("voip"), token("fcm")
        await self.ios(b, voip=voip, apns=token("apns"))
        await self.android(b, fcm)
        _, wsock = await self.online(b, "web")
        cid = (await self.api.create(a, adev, b.id, "video")).body["call"]["callId"]
        await wsock.wait_event(cid, "call.incoming")
        [apns] = await self.wait_pushes(voip)
        [firebase] = await self.wait_pushes(fcm)
        await asyncio.sleep(0.5)
        self.assertEqual(1, len(self.pushes(voip)), "exactly one VoIP push")
        self.assertEqual("voip", apns.headers["apns-push-type"])
        self.assertEqual(self.material.bundle_id + ".voip", apns.headers["apns-topic"])
        self.assertEqual("10", apns.headers["apns-priority"])
        self.assertEqual(cid, apns.json["callId"])
        self.assertEqual(a.id, apns.json["fromUserId"])
        self.assertEqual("video", apns.json["type"])
        self.assertLessEqual(apns.json["ttlSeconds"], RING)
        self.assertEqual(int(apns.headers["apns-expiration"]), apns.json["expiresAt"] // 1000)
        message = firebase.json["message"]
        self.assertEqual("HIGH", message["android"]["priority"])
        self.assertEqual(cid, message["android"]["collapse_key"])
        self.assertEqual("incoming_call", message["data"]["event"])
        self.assertNotIn("notification", message)
        ringing = await asock.wait_event(cid, "call.ringing")
        self.assertEqual(1, len(asock.of(cid, "call.ringing")))
        self.assertTrue(ringing)

    async def test_ringing_reaches_the_caller_only_once_a_provider_took_the_push(self):
        c = await self.ring_ios(("slow", 1.5))
        a, adev, asock, b, voip, cid = c.a, c.adev, c.asock, c.b, c.voip, c.cid
        await self.wait_pushes(voip)
        await asock.quiet(lambda e: e.get("event") == "call.ringing", 1.0)
        await asock.wait_event(cid, "call.ringing", timeout=5)
        entries = await self.push_timeline(cid)
        self.assertEqual("delivered", entries[0]["result"])
        self.assertEqual("apns", entries[0]["provider"])
        self.assertEqual(200, entries[0]["status"])

    async def test_offer_replayed_to_a_device_woken_by_its_push(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        b1, s1 = await self.online(b)
        voip = token("voip")
        late = await self.ios(b, voip=voip)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.api.sdp(a, cid, adev, "offer", OFFER)
        live = await s1.wait_event(cid, "signal.offer")
        [push] = await self.wait_pushes(voip)
        self.assertEqual(cid, push.json["callId"])
        self.assertNotIn("v=0", push.body.decode(), "no SDP in a push")
        # The app wakes from the push and opens its socket.
        s2 = await self.socket(b, late)
        self.assertGreaterEqual(s2.hello_ok["replayed"], 2)
        await s2.wait_event(cid, "call.incoming")
        replay = await s2.wait_event(cid, "signal.offer")
        self.assertEqual(live["seq"], replay["seq"])
        self.assertEqual(OFFER, replay["data"]["sdp"])
        await self.api.action(b, cid, "accept", late)
        await asock.wait_event(cid, "call.accepted")

    async def test_sandbox_token_goes_to_the_sandbox_host(self):
        a, b = self.user("a"), self.user("b")
        adev, _ = await self.online(a)
        voip = token("voip")
        await self.ios(b, voip=voip, env="sandbox")
        await self.api.create(a, adev, b.id)
        await self.wait_pushes(voip, fake=self.sandbox)
        self.assertEqual([], self.pushes(voip))

    async def test_a_foreground_socket_gets_no_push_a_background_one_gets_both(self):
        a, b, c = self.user("a"), self.user("b"), self.user("c")
        adev, _ = await self.online(a)
        fg_fcm, bg_fcm = token("fcm"), token("fcm")
        fg = await self.android(b, fg_fcm)
        fg_sock = await self.socket(b, fg, foreground=True)
        bg = await self.android(c, bg_fcm)
        bg_sock = await self.socket(c, bg, foreground=False)
        cid1 = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await fg_sock.wait_event(cid1, "call.incoming")
        await self.api.action(a, cid1, "end", adev)
        cid2 = (await self.api.create(a, adev, c.id)).body["call"]["callId"]
        await bg_sock.wait_event(cid2, "call.incoming")
        await self.wait_pushes(bg_fcm)
        await asyncio.sleep(0.3)
        self.assertEqual([], self.pushes(fg_fcm))


class TestStopRinging(PushTestCase):
    async def test_accept_elsewhere_cancels_android_and_sends_no_second_voip(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        voip, apns, fcm = token("voip"), token("apns"), token("fcm")
        await self.ios(b, voip=voip, apns=apns)
        droid = await self.android(b, fcm)
        dsock = await self.socket(b, droid, foreground=False)
        web, _ = await self.online(b, "web")
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.wait_pushes(voip)
        await self.wait_pushes(fcm)
        await self.api.action(b, cid, "accept", web)
        await asock.wait_event(cid, "call.accepted")
        ended = await dsock.wait_event(cid, "call.ended")
        self.assertEqual("answered_elsewhere", ended["data"]["reason"])
        cancel, = [r for r in await self.wait_pushes(fcm, 2) if
                   r.json["message"]["data"]["event"] == "call_cancelled"]
        self.assertEqual("answered_elsewhere", cancel.json["message"]["data"]["reason"])
        self.assertEqual(cid, cancel.json["message"]["data"]["callId"])
        self.assertEqual("60s", cancel.json["message"]["android"]["ttl"])
        await asyncio.sleep(0.5)
        self.assertEqual(1, len(self.pushes(voip)), "never a second VoIP push")
        self.assertEqual([], self.pushes(apns), "no missed-call alert for an answered call")

    async def test_ring_timeout_sends_the_missed_call_alert(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        voip, apns, fcm = token("voip"), token("apns"), token("fcm")
        await self.ios(b, voip=voip, apns=apns)
        await self.android(b, fcm)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await asock.wait_event(cid, "call.timeout", timeout=RING + 5)
        [alert] = await self.wait_pushes(apns)
        self.assertEqual("alert", alert.headers["apns-push-type"])
        self.assertEqual(self.material.bundle_id, alert.headers["apns-topic"])
        self.assertEqual(cid, alert.headers["apns-collapse-id"])
        self.assertEqual("Missed call", alert.json["aps"]["alert"]["title"])
        self.assertEqual(a.id, alert.json["aps"]["alert"]["body"])
        self.assertEqual("missed_call", alert.json["event"])
        cancels = [r for r in await self.wait_pushes(fcm, 2)
                   if r.json["message"]["data"]["event"] == "call_cancelled"]
        self.assertEqual("ring_timeout", cancels[0].json["message"]["data"]["reason"])
        self.assertEqual(1, len(self.pushes(voip)))

    async def test_caller_cancel_sends_the_missed_call_alert(self):
        a, b = self.user("a"), self.user("b")
        adev, _ = await self.online(a)
        voip, apns = token("voip"), token("apns")
        await self.ios(b, voip=voip, apns=apns)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.wait_pushes(voip)
        await self.api.action(a, cid, "end", adev)
        [alert] = await self.wait_pushes(apns)
        self.assertEqual(cid, alert.json["callId"])
        self.assertEqual(1, len(self.pushes(voip)))


class TestProviderAnswers(PushTestCase):
    async def registered_tokens(self, user):
        devices = (await self.api.devices(user)).body["devices"]
        return {t["kind"]: t["token"] for d in devices for t in d["pushTokens"]}

    async def test_dead_tokens_leave_the_registry(self):
        a, b = self.user("a"), self.user("b")
        adev, _ = await self.online(a)
        voip, fcm = token("voip"), token("fcm")
        later = int(time.time() * 1000) + 60_000
        self.fake.script(voip, ("unregistered", later))
        self.fake.script(fcm, ("unregistered", later))
        await self.ios(b, voip=voip)
        await self.android(b, fcm)
        before = await self.metric("turnpike_push_tokens_removed_total")
        created = (await self.api.create(a, adev, b.id)).body["call"]
        cid = created["callId"]
        await self.wait_pushes(voip)
        await self.wait_pushes(fcm)
        call = await self.api.wait_call(a, cid, lambda c: c["state"] == "ended", timeout=5)
        self.assertEqual("unreachable", call["endReason"], "every invite failed for good")
        for _ in range(50):
            if not await self.registered_tokens(b):
                break
            await asyncio.sleep(0.05)
        self.assertEqual({}, await self.registered_tokens(b))
        self.assertEqual(before + 2, await self.metric("turnpike_push_tokens_removed_total"))

    async def test_a_registration_after_the_410_timestamp_keeps_the_token(self):
        a, b = self.user("a"), self.user("b")
        adev, _ = await self.online(a)
        voip = token("voip")
        earlier = int(time.time() * 1000) - 60_000
        self.fake.script(voip, ("unregistered", earlier))
        await self.ios(b, voip=voip)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.wait_pushes(voip)
        entries = await self.push_timeline(cid)
        self.assertEqual("dead_token", entries[0]["result"])
        await asyncio.sleep(0.2)
        self.assertTrue((await self.registered_tokens(b)).get("voip", "").endswith(voip[-8:]))

    async def test_bad_device_token_is_removed_and_other_4xx_is_not_retried(self):
        a, b, c = self.user("a"), self.user("b"), self.user("c")
        adev, _ = await self.online(a)
        bad, odd = token("voip"), token("voip")
        self.fake.script(bad, "bad_token")
        self.fake.script(odd, "other_4xx")
        await self.ios(b, voip=bad)
        await self.ios(c, voip=odd)
        await self.api.create(a, adev, b.id)
        await self.api.create(a, adev, c.id)
        await self.wait_pushes(bad)
        await self.wait_pushes(odd)
        await asyncio.sleep(1.0)
        self.assertEqual(1, len(self.pushes(odd)), "a 400 is not retried")
        self.assertEqual({}, await self.registered_tokens(b))
        self.assertIn("voip", await self.registered_tokens(c))

    async def test_500_then_success_lands_once(self):
        c = await self.ring_ios("500")
        a, adev, asock, b, voip, cid = c.a, c.adev, c.asock, c.b, c.voip, c.cid
        await asock.wait_event(cid, "call.ringing", timeout=5)
        got = await self.wait_pushes(voip, 2)
        await asyncio.sleep(0.5)
        self.assertEqual([500, 200], [r.status for r in self.pushes(voip)])
        self.assertEqual(got[0].headers["apns-id"], got[1].headers["apns-id"])
        entries = await self.push_timeline(cid, 2)
        self.assertEqual(["retry", "delivered"], [e["result"] for e in entries])

    async def test_429_waits_for_retry_after(self):
        a, b = self.user("a"), self.user("b")
        adev, _ = await self.online(a)
        fcm = token("fcm")
        self.fake.script(fcm, ("429", 1))
        await self.android(b, fcm)
        await self.api.create(a, adev, b.id)
        first, second = await self.wait_pushes(fcm, 2)
        self.assertGreaterEqual(second.at - first.at, 0.9, "Retry-After: 1 honoured")

    async def test_no_request_after_the_ring_stopped(self):
        c = await self.ring_ios(("429", 2))
        a, adev, asock, b, voip, cid = c.a, c.adev, c.asock, c.b, c.voip, c.cid
        await self.wait_pushes(voip)
        await self.api.action(a, cid, "end", adev)
        await asyncio.sleep(3.0)
        self.assertEqual(1, len(self.pushes(voip)), "the retry was dropped with the ring")
        entries = await self.push_timeline(cid, 2)
        self.assertEqual("dropped", entries[-1]["result"])

    async def test_expired_provider_token_is_signed_again_once(self):
        c = await self.ring_ios("expired_provider_token")
        a, adev, asock, b, voip, cid = c.a, c.adev, c.asock, c.b, c.voip, c.cid
        first, second = await self.wait_pushes(voip, 2)
        await asock.wait_event(cid, "call.ringing", timeout=5)
        self.assertNotEqual(first.apns_jwt, second.apns_jwt, "a fresh provider token")
        self.assertEqual(200, second.status)

    async def test_the_provider_token_is_shared_by_many_pushes(self):
        tokens = []
        for _ in range(20):
            a, b = self.user("a"), self.user("b")
            adev = await self.device(a)
            tok = token("voip")
            tokens.append(tok)
            await self.ios(b, voip=tok)
            await self.api.create(a, adev, b.id)
        for tok in tokens:
            await self.wait_pushes(tok)
        jwts = {r.apns_jwt for tok in tokens for r in self.pushes(tok)}
        self.assertEqual(1, len(jwts), "one provider token for every push")

    async def test_fcm_401_gets_a_new_access_token_once(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        fcm = token("fcm")
        self.fake.script(fcm, "fcm_unauthenticated")
        await self.android(b, fcm)
        issued = self.fake.oauth_tokens_issued
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await asock.wait_event(cid, "call.ringing", timeout=5)
        self.assertEqual([401, 200], [r.status for r in self.pushes(fcm)])
        self.assertEqual(issued + 1, self.fake.oauth_tokens_issued)

    async def test_a_killed_connection_is_reopened_and_the_call_still_rings(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        warm = token("voip")
        w = self.user("w")
        await self.ios(w, voip=warm)
        await self.api.create(a, adev, w.id)
        await self.wait_pushes(warm)
        opened = self.fake.connections_accepted
        self.fake.kill_connections()
        voip = token("voip")
        await self.ios(b, voip=voip)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await asock.wait_event(cid, "call.ringing", timeout=8)
        self.assertEqual(200, self.pushes(voip)[-1].status)
        self.assertGreater(self.fake.connections_accepted, opened)

    async def test_dropped_and_goaway_requests_are_retried_on_a_new_connection(self):
        a = self.user("a")
        adev, asock = await self.online(a)
        for outcome in ("drop", "goaway"):
            b = self.user("b")
            voip = token("voip")
            self.fake.script(voip, outcome)
            await self.ios(b, voip=voip)
            cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
            await asock.wait_event(cid, "call.ringing", timeout=8)
            self.assertEqual(200, self.pushes(voip)[-1].status, outcome)

    async def test_push_metrics_by_provider_kind_and_result(self):
        c = await self.ring_ios()
        a, adev, asock, b, voip, cid = c.a, c.adev, c.asock, c.b, c.voip, c.cid
        await asock.wait_event(cid, "call.ringing", timeout=5)
        await asyncio.sleep(0.2)
        self.assertGreaterEqual(await self.metric("turnpike_push_total", provider="apns",
                                                  kind="invite", result="delivered"), 1)


class TestLimits(PushTestCase):
    EXTRA = {"push": {"rate_limits": {"per_device_per_minute": 2}}}

    async def test_a_device_gets_at_most_its_pushes_per_minute(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        fcm = token("fcm")
        await self.android(b, fcm)
        first = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.wait_pushes(fcm)
        await self.api.action(a, first, "end", adev)
        await self.wait_pushes(fcm, 2)  # the cancel: the second push this minute
        second = (await self.api.create(a, adev, b.id)).body["call"]
        entries = await self.push_timeline(second["callId"])
        self.assertEqual("rate_limited", entries[0]["result"])
        await asyncio.sleep(0.3)
        self.assertEqual(2, len(self.pushes(fcm)))
        call = await self.api.wait_call(a, second["callId"], lambda c: c["state"] == "ended")
        self.assertEqual("unreachable", call["endReason"])
        self.assertGreaterEqual(await self.metric("turnpike_push_total", provider="fcm",
                                                  result="rate_limited"), 1)


class TestRestart(PushTestCase):
    async def test_a_restored_call_sends_no_second_voip_push(self):
        a, b = self.user("a"), self.user("b")
        adev = await self.device(a)
        voip = token("voip")
        await self.ios(b, voip=voip)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.wait_pushes(voip)
        await asyncio.sleep(0.2)
        self.server.kill9()
        self.server.restart()
        self.reopen_session()
        call = (await self.api.get_call(a, cid)).body["call"]
        self.assertEqual("ringing", call["state"])
        await asyncio.sleep(1.0)
        self.assertEqual(1, len(self.pushes(voip)), "Apple allows one VoIP push per call")


class TestHealthChecks(PushTestCase):
    EXTRA = {"push": {"ping_interval": "1s"}}

    async def test_a_silent_connection_is_found_by_ping_and_the_call_still_rings(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online(a)
        voip = token("voip")
        # The provider takes the request, then neither answers nor acks PINGs,
        # and keeps the TCP connection open.
        self.fake.script(voip, "stall")
        await self.ios(b, voip=voip)
        opened = self.fake.connections_accepted
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await asock.wait_event(cid, "call.ringing", timeout=RING)
        first, second = self.pushes(voip)
        self.assertNotEqual(first.conn, second.conn, "retried on a new connection")
        self.assertEqual(200, second.status)
        self.assertGreater(self.fake.connections_accepted, opened)
        entries = await self.push_timeline(cid, 2)
        self.assertIn("PING", entries[0]["reason"])


class TestReload(PushTestCase):
    def rewrite(self, push):
        self.server.config = merge(self.server.config, {"push": push})
        with open(self.server.config_path, "w") as f:
            yaml.safe_dump(self.server.config, f, sort_keys=False)
        os.kill(self.server.pid, signal.SIGHUP)

    async def wait_log(self, text, timeout=5.0):
        deadline = time.monotonic() + timeout
        while text not in self.server.log():
            if time.monotonic() > deadline:
                self.fail(f"{text!r} not in the log")
            await asyncio.sleep(0.05)

    async def test_a_new_key_gets_new_connections_and_old_requests_finish(self):
        c = await self.ring_ios(("slow", 2.0))
        [first] = await self.wait_pushes(c.voip)
        # The same key under another file name counts as a new credential.
        copy = os.path.join(self.material.dir, "AuthKey_copy.p8")
        with open(self.material.apns_key_path) as src, open(copy, "w") as dst:
            dst.write(src.read())
        self.rewrite({"apns": {"private_key": copy}})
        await self.wait_log("reloaded")
        d = await self.ring_ios()
        [second] = await self.wait_pushes(d.voip)
        self.assertNotEqual(first.conn, second.conn, "a new connection for the new key")
        self.assertNotEqual(first.apns_jwt, second.apns_jwt, "signed with the new key")
        await c.asock.wait_event(c.cid, "call.ringing", timeout=5)
        self.assertEqual(200, self.pushes(c.voip)[0].status, "the old connection finished")

    async def test_sighup_keeps_requests_in_flight_and_a_bad_key_keeps_the_old_one(self):
        c = await self.ring_ios(("slow", 1.5))
        a, adev, asock, b, voip, cid = c.a, c.adev, c.asock, c.b, c.voip, c.cid
        await self.wait_pushes(voip)
        opened = self.fake.connections_accepted
        # A reload while the push is in flight: new limits, same keys.
        self.rewrite({"rate_limits": {"per_device_per_minute": 20}})
        await self.wait_log("reloaded")
        await asock.wait_event(cid, "call.ringing", timeout=5)
        self.assertEqual(200, self.pushes(voip)[0].status)
        self.assertEqual(opened, self.fake.connections_accepted, "the connection was kept")
        # A key that is not P-256: refused, the running key stays in use.
        rsa = os.path.join(self.material.dir, "not-p256.pem")
        with open(rsa, "w") as f, open(self.material.service_account_path) as sa:
            f.write(json.load(sa)["private_key"])
        self.rewrite({"apns": {"private_key": rsa}})
        await self.wait_log("push credentials kept: push.apns.private_key")
        c, d = self.user("c"), self.user("d")
        cdev = await self.device(c)
        again = token("voip")
        await self.ios(d, voip=again)
        await self.api.create(c, cdev, d.id)
        [push] = await self.wait_pushes(again)
        self.assertEqual(200, push.status)
        used = {r.apns_jwt for r in self.pushes(voip) + self.pushes(again)}
        self.assertEqual(1, len(used), "the same provider token throughout")


class TestAccessTokenRefresh(PushTestCase):
    # Google's tokens last an hour and are renewed a minute early; these last
    # 4 s, and a token that short is renewed at half its life, so the second
    # push, 2.5 s after the first, needs a new one.
    OAUTH_EXPIRES_IN = 4

    async def test_the_access_token_is_refreshed_near_expires_in(self):
        a = self.user("a")
        adev, _ = await self.online(a)
        first, second = token("fcm"), token("fcm")
        b1, b2 = self.user("b"), self.user("b")
        await self.android(b1, first)
        await self.android(b2, second)
        await self.api.create(a, adev, b1.id)
        [r1] = await self.wait_pushes(first)
        await asyncio.sleep(2.5)
        await self.api.create(a, adev, b2.id)
        [r2] = await self.wait_pushes(second)
        self.assertNotEqual(r1.headers["authorization"], r2.headers["authorization"])
        self.assertEqual(2, self.fake.oauth_tokens_issued)


class TestPushConfig(unittest.TestCase):
    """Bad push.* settings stop the server at start with the key and its line."""

    def start_with(self, push):
        tmp = tempfile.mkdtemp(prefix="turnpike-push-config-")
        config = merge(base_config(tmp), {"push": push})
        path = os.path.join(tmp, "turnpike.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        if not os.access(BINARY, os.X_OK):
            self.skipTest("no binary")
        proc = subprocess.run([BINARY, "--config", path], capture_output=True, text=True,
                              timeout=30, cwd=tmp)
        return proc.returncode, proc.stdout + proc.stderr, path

    def line_of(self, path, key):
        with open(path) as f:
            for i, line in enumerate(f, 1):
                if line.strip().startswith(key + ":"):
                    return i
        return 0

    def test_an_rsa_key_is_not_an_apns_key(self):
        material = PushMaterial(tempfile.mkdtemp(prefix="turnpike-push-"))
        rsa = os.path.join(material.dir, "rsa.pem")
        account = material.write_service_account("https://127.0.0.1:1/token")
        with open(rsa, "w") as f, open(account) as sa:
            f.write(json.load(sa)["private_key"])
        code, out, path = self.start_with({"apns": {
            "team_id": material.team_id, "key_id": material.key_id, "private_key": rsa,
            "bundle_id": material.bundle_id}})
        self.assertNotEqual(0, code)
        self.assertIn(f"push.apns.private_key: line {self.line_of(path, 'private_key')}", out)
        self.assertIn("P-256", out)

    def test_a_missing_key_file_and_a_service_account_without_key(self):
        material = PushMaterial(tempfile.mkdtemp(prefix="turnpike-push-"))
        broken = os.path.join(material.dir, "sa.json")
        with open(broken, "w") as f:
            f.write('{"type": "service_account", "project_id": "p", '
                    '"client_email": "x@y", "token_uri": "https://127.0.0.1:1/token"}')
        code, out, path = self.start_with({
            "apns": {"team_id": material.team_id, "key_id": material.key_id,
                     "private_key": "/nonexistent/AuthKey.p8", "bundle_id": "b"},
            "fcm": {"service_account": broken}})
        self.assertNotEqual(0, code)
        self.assertIn(f"push.apns.private_key: line {self.line_of(path, 'private_key')}: "
                      "cannot read /nonexistent/AuthKey.p8", out)
        self.assertIn(f"push.fcm.service_account: line {self.line_of(path, 'service_account')}",
                      out)
        self.assertIn("has no private_key", out)


if __name__ == "__main__":
    unittest.main()
