"""Calls: create, get, ringing, accept, decline, connected, end; their errors,
idempotency, busy, glare, rate limits, call tokens, admin timeline, metrics."""

import asyncio
import base64
import hashlib
import hmac
import re
import time
import unittest
import uuid

import jwt

from harness import (ADMIN_TOKEN, REST_SECRET, RFC3339_UTC, ServerTestCase, User, parse_metrics,
                     participant, unverified_claims)


class CallTestMixin:

    def check_call_token(self, token, user, call, type_):
        header = jwt.get_unverified_header(token)
        self.assertEqual("ES256", header.get("alg"))
        self.assertTrue(header.get("kid"), "call token header has no kid")
        c = unverified_claims(token)
        self.assertEqual(user.id, c["sub"])
        self.assertEqual(call["callId"], c["cid"])
        self.assertEqual(participant(call, user.id)["participantId"], c["pid"])
        self.assertEqual("p2p", c["mode"])
        self.assertIn("publishAudio", c["perm"])
        self.assertIn("subscribe", c["perm"])
        if type_ == "audio":
            self.assertNotIn("publishVideo", c["perm"])
        else:
            self.assertIn("publishVideo", c["perm"])
        self.assertTrue(c.get("jti"))
        self.assertIsInstance(c["iat"], int)
        self.assertGreater(c["exp"], c["iat"])
        self.assertLessEqual(c["exp"] - c["iat"], 121, "call_tokens.ttl is 120s")
        self.assertLessEqual(abs(c["iat"] - time.time()), 30)

    def check_turn(self, turn, user, call):
        pid = participant(call, user.id)["participantId"]
        m = re.match(r"^(\d+):([^:]+):([^:]+)$", turn["username"])
        self.assertIsNotNone(m, turn["username"])
        self.assertEqual(call["callId"], m.group(2))
        self.assertEqual(pid, m.group(3))
        expiry = int(m.group(1))
        now = time.time()
        self.assertGreater(expiry, now)
        self.assertLessEqual(expiry, now + 300 + 30, "call_tokens.turn_ttl is 5m")
        want = base64.b64encode(hmac.new(REST_SECRET.encode(), turn["username"].encode(),
                                         hashlib.sha1).digest()).decode()
        self.assertEqual(want, turn["password"])
        self.assertLessEqual(turn["ttl"], 300 + 1)
        p = self.server.ports
        configured = self.server.config["api"].get("turn_uris")
        if configured:
            self.assertEqual(configured, turn["uris"])
        else:
            # RFC 7065 URIs built from the listen addresses, one per listener.
            self.assertEqual({f"turn:127.0.0.1:{p['udp']}?transport=udp",
                              f"turn:127.0.0.1:{p['tcp']}?transport=tcp",
                              f"turns:127.0.0.1:{p['tls']}?transport=tcp"}, set(turn["uris"]))

    def assert_seq_increasing(self, events):
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs), f"seq not increasing: {events}")
        self.assertEqual(len(seqs), len(set(seqs)), f"repeated seq: {events}")


class CallLifecycleTest(CallTestMixin, ServerTestCase):

    async def test_create_shape_token_and_turn(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        r = await self.api.create(a, adev, b.id, "video", callerDisplayName="Alice",
                                  callerAvatarUrl="https://example.com/a.png",
                                  someFutureField={"ignored": True})
        call = r.body["call"]
        self.assertEqual("video", call["type"])
        self.assertEqual("p2p", call["mode"])
        self.assertIn(call["state"], ("created", "ringing"))
        self.assertEqual(a.id, call["initiatorUserId"])
        self.assertIsNone(call["endReason"])
        self.assertIsNone(call["answeredAt"])
        self.assertIsNone(call["endedAt"])
        self.assertEqual(2, len(call["participants"]))
        host, member = participant(call, a.id), participant(call, b.id)
        self.assertEqual("host", host["role"])
        self.assertEqual(adev, host["deviceId"])
        self.assertEqual("member", member["role"])
        self.assertIn(member["state"], ("invited", "ringing"))
        self.assertNotEqual(host["participantId"], member["participantId"])
        self.check_call_token(r.body["callToken"], a, call, "video")
        self.check_turn(r.body["turn"], a, call)
        cid = call["callId"]
        await bsock.wait_event(cid, "call.incoming")
        await asock.wait_event(cid, "call.ringing")
        got = await self.api.wait_call(a, cid, lambda c: c["state"] == "ringing",
                                       what="state ringing")
        self.assertEqual(call["createdAt"], got["createdAt"])
        # The callee reads it too.
        self.assertEqual(cid, (await self.api.get_call(b, cid)).body["call"]["callId"])
        # call.ringing once.
        await asock.quiet(lambda e: False, 0.5)
        self.assertEqual(1, len(asock.of(cid, "call.ringing")))

    async def test_audio_call_token_has_no_publish_video(self):
        a, b = User("a"), User("b")
        adev, _ = await self.online(a)
        await self.online(b)
        r = await self.api.create(a, adev, b.id, "audio")
        self.check_call_token(r.body["callToken"], a, r.body["call"], "audio")

    async def test_ringing_action(self):
        c = await self.ringing_call()
        r = await self.api.action(c["b"], c["cid"], "ringing", c["bdev"])
        call = r.body["call"]
        self.assertEqual("ringing", call["state"])
        self.assertEqual("ringing", participant(call, c["b"].id)["state"])

    async def test_accept_connect_hangup(self):
        c = await self.ringing_call("video")
        a, b, cid = c["a"], c["b"], c["cid"]
        r = await self.api.action(b, cid, "accept", c["bdev"], futureField=[1, 2])
        call = r.body["call"]
        self.assertEqual("connecting", call["state"])
        self.assertTrue(RFC3339_UTC.match(call["answeredAt"] or ""))
        pb = participant(call, b.id)
        self.assertEqual("accepted", pb["state"])
        self.assertEqual(c["bdev"], pb["deviceId"])
        self.check_call_token(r.body["callToken"], b, call, "video")
        self.check_turn(r.body["turn"], b, call)
        await c["asock"].wait_event(cid, "call.accepted")
        # Accept again from the same device: the same 200.
        again = await self.api.action(b, cid, "accept", c["bdev"])
        self.assertEqual(call, again.body["call"])
        self.check_call_token(again.body["callToken"], b, again.body["call"], "video")
        r = await self.api.action(b, cid, "connected", c["bdev"])
        self.assertEqual("connected", r.body["call"]["state"])
        r = await self.api.action(a, cid, "end", c["adev"])
        ended = r.body["call"]
        self.assertEqual("ended", ended["state"])
        self.assertEqual("hangup", ended["endReason"])
        self.assertTrue(RFC3339_UTC.match(ended["endedAt"] or ""))
        await c["bsock"].wait_event(cid, "call.ended", reason="hangup")
        await c["asock"].wait_event(cid, "call.ended", reason="hangup")
        # End is idempotent, by either side.
        again = await self.api.action(a, cid, "end", c["adev"])
        self.assertEqual(ended, again.body["call"])
        again = await self.api.action(b, cid, "end", c["bdev"])
        self.assertEqual("hangup", again.body["call"]["endReason"])
        self.assertEqual(ended["endedAt"], again.body["call"]["endedAt"])
        # Accept after the end.
        await self.api.action(b, cid, "accept", c["bdev"], expect=(409, "call_ended"))
        got = (await self.api.get_call(b, cid)).body["call"]
        self.assertEqual(ended, got)
        for sock in (c["asock"], c["bsock"]):
            self.assert_seq_increasing(sock.of(cid))
            self.assertEqual(1, len(sock.of(cid, "call.ended")))

    async def test_callee_hangup_after_answer(self):
        c = await self.ringing_call()
        await self.api.action(c["b"], c["cid"], "accept", c["bdev"])
        r = await self.api.action(c["b"], c["cid"], "end", c["bdev"])
        self.assertEqual("hangup", r.body["call"]["endReason"])
        await c["asock"].wait_event(c["cid"], "call.ended", reason="hangup")

    async def test_connected_before_accept_is_invalid_state(self):
        c = await self.ringing_call()
        await self.api.action(c["a"], c["cid"], "connected", c["adev"],
                              expect=(409, "invalid_state"))
        await self.api.action(c["b"], c["cid"], "connected", c["bdev"],
                              expect=(409, "invalid_state"))
        call = (await self.api.get_call(c["a"], c["cid"])).body["call"]
        self.assertEqual("ringing", call["state"])

    async def test_answered_elsewhere(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        b1, s1 = await self.online(b)
        b2, s2 = await self.online(b, "android")
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await s1.wait_event(cid, "call.incoming")
        await s2.wait_event(cid, "call.incoming")
        await self.api.action(b, cid, "accept", b1)
        await self.api.action(b, cid, "accept", b2, expect=(409, "already_answered"))
        await s2.wait_event(cid, "call.ended", reason="answered_elsewhere")
        await asock.wait_event(cid, "call.accepted")
        call = (await self.api.get_call(b, cid)).body["call"]
        self.assertEqual("connecting", call["state"])
        self.assertEqual(b1, participant(call, b.id)["deviceId"])
        # After the accept, signaling flows between the caller's device and b1 only.
        await self.api.ice(a, cid, adev, "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host",
                           sdpMid="0", sdpMLineIndex=0)
        await s1.wait_event(cid, "signal.ice")
        await s2.quiet(lambda e: e.get("callId") == cid and e["event"].startswith("signal."), 0.7)
        self.assertEqual([], s1.of(cid, "call.ended"), "the winner's call did not end")

    async def test_decline(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        b1, s1 = await self.online(b)
        b2, s2 = await self.online(b)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await s1.wait_event(cid, "call.incoming")
        await s2.wait_event(cid, "call.incoming")
        r = await self.api.action(b, cid, "decline", b1)
        call = r.body["call"]
        self.assertEqual("ended", call["state"])
        self.assertEqual("declined", call["endReason"])
        self.assertEqual("declined", participant(call, b.id)["state"])
        await asock.wait_event(cid, "call.ended", reason="declined")
        await s2.wait_event(cid, "call.ended", reason="rejected_elsewhere")
        await self.api.action(b, cid, "accept", b2, expect=(409, "call_ended"))

    async def test_decline_with_reason_busy(self):
        c = await self.ringing_call()
        r = await self.api.action(c["b"], c["cid"], "decline", c["bdev"], reason="busy")
        self.assertEqual("busy", r.body["call"]["endReason"])
        await c["asock"].wait_event(c["cid"], "call.ended", reason="busy")

    async def test_decline_after_accept_changes_nothing(self):
        a, b = User("a"), User("b")
        adev, _ = await self.online(a)
        b1, s1 = await self.online(b)
        b2, _ = await self.online(b)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await s1.wait_event(cid, "call.incoming")
        await self.api.action(b, cid, "accept", b1)
        r = await self.api.action(b, cid, "decline", b2)
        self.assertEqual("connecting", r.body["call"]["state"])
        self.assertIsNone(r.body["call"]["endReason"])
        r = await self.api.action(b, cid, "decline", b1)
        self.assertEqual("connecting", r.body["call"]["state"])

    async def test_callee_end_before_answer_is_declined(self):
        c = await self.ringing_call()
        r = await self.api.action(c["b"], c["cid"], "end", c["bdev"])
        self.assertEqual("declined", r.body["call"]["endReason"])
        await c["asock"].wait_event(c["cid"], "call.ended", reason="declined")

    async def test_caller_cancel_reaches_callee_devices(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        b1, s1 = await self.online(b)
        b2, s2 = await self.online(b, "web")
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await s1.wait_event(cid, "call.incoming")
        await s2.wait_event(cid, "call.incoming")
        r = await self.api.action(a, cid, "end", adev)
        self.assertEqual("caller_cancelled", r.body["call"]["endReason"])
        for s in (s1, s2, asock):
            await s.wait_event(cid, "call.ended", reason="caller_cancelled")
        r = await self.api.action(a, cid, "end", adev)
        self.assertEqual("caller_cancelled", r.body["call"]["endReason"])

    async def test_unreachable(self):
        a = User("a")
        adev, asock = await self.online(a)
        # No device at all.
        nobody = User("nobody")
        r = await self.api.create(a, adev, nobody.id)
        self.assertEqual("ended", r.body["call"]["state"])
        self.assertEqual("unreachable", r.body["call"]["endReason"])
        await asock.wait_event(r.body["call"]["callId"], "call.ended", reason="unreachable")
        # Devices with tokens but no socket: nothing can ring them here.
        tokens_only = User("tok")
        await self.api.register(tokens_only, "ios1", "ios",
                                push_tokens=[{"kind": "voip", "token": "v" * 64}])
        await self.api.register(tokens_only, "and1", "android",
                                push_tokens=[{"kind": "fcm", "token": "f" * 64}])
        r = await self.api.create(a, adev, tokens_only.id)
        self.assertEqual("unreachable", r.body["call"]["endReason"])
        await asock.wait_event(r.body["call"]["callId"], "call.ended", reason="unreachable")
        # A live socket on a device that takes no calls.
        nocalls = User("nocalls")
        await self.online(nocalls, capabilities={"calls": False})
        r = await self.api.create(a, adev, nocalls.id)
        self.assertEqual("unreachable", r.body["call"]["endReason"])

    async def test_not_found_and_other_users(self):
        c = await self.ringing_call()
        a, b, cid = c["a"], c["b"], c["cid"]
        stranger = User("s")
        sdev = await self.device(stranger)
        await self.api.get_call(stranger, cid, expect=(404, "not_found"))
        await self.api.get_call(a, str(uuid.uuid4()), expect=(404, "not_found"))
        await self.api.get_call(a, "not-a-uuid", expect=(404, "not_found"))
        for action in ("ringing", "accept", "decline", "connected", "end"):
            await self.api.action(stranger, cid, action, sdev, expect=(404, "not_found"))
            await self.api.action(a, str(uuid.uuid4()), action, c["adev"],
                                  expect=(404, "not_found"))
        await self.api.sdp(stranger, cid, sdev, "offer", "v=0\r\n", expect=(404, "not_found"))
        await self.api.ice(stranger, cid, sdev, "candidate:x", expect=(404, "not_found"))
        # A device that is not one of the acting user's: 404.
        await self.api.action(b, cid, "accept", "unregistered", expect=(404, "not_found"))
        await self.api.action(b, cid, "accept", c["adev"], expect=(404, "not_found"))
        await self.api.action(a, cid, "end", c["bdev"], expect=(404, "not_found"))
        await self.api.action(b, cid, "ringing", sdev, expect=(404, "not_found"))
        await self.api.sdp(a, cid, "ghost", "offer", "v=0\r\n", expect=(404, "not_found"))
        await self.api.ice(a, cid, "ghost", "candidate:x", expect=(404, "not_found"))
        await self.api.create(a, "ghost", b.id, expect=(404, "not_found"))
        await self.api.create(a, c["bdev"], b.id, expect=(404, "not_found"))
        # The call is untouched.
        self.assertEqual("ringing", (await self.api.get_call(a, cid)).body["call"]["state"])

    async def test_unsupported_mode(self):
        a, b, c = User("a"), User("b"), User("c")
        adev = await self.device(a)
        await self.api.create(a, adev, b.id, mode="sfu", expect=(400, "unsupported_mode"))
        await self.api.create(a, adev, [b.id, c.id], expect=(400, "unsupported_mode"))

    async def test_create_field_errors(self):
        a, b = User("a"), User("b")
        adev = await self.device(a)
        cases = [
            ({"callees": [b.id], "type": "audio"}, "deviceId"),
            ({"deviceId": adev, "callees": b.id, "type": "audio"}, "callees"),
            ({"deviceId": adev, "callees": [7], "type": "audio"}, "callees"),
            ({"deviceId": adev, "type": "audio"}, "callees"),
            ({"deviceId": adev, "callees": [b.id], "type": "hologram"}, "type"),
            ({"deviceId": adev, "callees": [b.id]}, "type"),
            ({"deviceId": adev, "callees": [b.id], "type": "audio", "callerDisplayName": 5},
             "callerDisplayName"),
            ({"deviceId": adev, "callees": [b.id], "type": "audio", "mode": 1}, "mode"),
        ]
        for body, field in cases:
            r = await self.api.request("POST", "/v1/calls", a.token, body,
                                       expect=(400, "invalid_field"))
            self.assertIn(field, r.body["error"]["message"], f"{body} -> {r!r}")
        await self.api.request("POST", "/v1/calls", a.token, data=b"{\"deviceId\":",
                               expect=(400, "invalid_json"))
        big = {"deviceId": adev, "callees": [b.id], "type": "audio",
               "callerDisplayName": "x" * 70000}
        await self.api.request("POST", "/v1/calls", a.token, big, expect=(413, "body_too_large"))

    async def test_action_field_errors(self):
        c = await self.ringing_call()
        a, b, cid = c["a"], c["b"], c["cid"]
        for action in ("ringing", "accept", "decline", "connected", "end"):
            r = await self.api.request("POST", f"/v1/calls/{cid}/{action}", b.token, {},
                                       expect=(400, "invalid_field"))
            self.assertIn("deviceId", r.body["error"]["message"])
            await self.api.request("POST", f"/v1/calls/{cid}/{action}", b.token, data=b"nope",
                                   expect=(400, "invalid_json"))
        r = await self.api.request("POST", f"/v1/calls/{cid}/sdp", a.token,
                                   {"deviceId": c["adev"], "sdpType": "pranswer", "sdp": "v=0"},
                                   expect=(400, "invalid_field"))
        self.assertIn("sdpType", r.body["error"]["message"])
        r = await self.api.request("POST", f"/v1/calls/{cid}/sdp", a.token,
                                   {"deviceId": c["adev"], "sdpType": "offer", "sdp": 12},
                                   expect=(400, "invalid_field"))
        self.assertIn("sdp", r.body["error"]["message"])
        r = await self.api.request("POST", f"/v1/calls/{cid}/ice", a.token,
                                   {"deviceId": c["adev"], "candidate": 5},
                                   expect=(400, "invalid_field"))
        self.assertIn("candidate", r.body["error"]["message"])
        r = await self.api.request("POST", f"/v1/calls/{cid}/ice", a.token,
                                   {"deviceId": c["adev"], "candidate": "c", "sdpMLineIndex": "0"},
                                   expect=(400, "invalid_field"))
        self.assertIn("sdpMLineIndex", r.body["error"]["message"])
        r = await self.api.request("POST", f"/v1/calls/{cid}/decline", b.token,
                                   {"deviceId": c["bdev"], "reason": 3},
                                   expect=(400, "invalid_field"))
        self.assertIn("reason", r.body["error"]["message"])
        big = {"deviceId": c["adev"], "sdpType": "offer", "sdp": "a" * (66 * 1024)}
        await self.api.request("POST", f"/v1/calls/{cid}/sdp", a.token, big,
                               expect=(413, "body_too_large"))
        # Nothing above changed the call.
        self.assertEqual("ringing", (await self.api.get_call(a, cid)).body["call"]["state"])

    async def test_idempotency_key(self):
        a, b, other = User("a"), User("b"), User("o")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = (await self.api.create(a, adev, b.id, headers=key)).body
        cid = first["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        second = (await self.api.create(a, adev, b.id, headers=key)).body
        self.assertEqual(cid, second["call"]["callId"])
        self.assertEqual(first["call"]["createdAt"], second["call"]["createdAt"])
        await bsock.quiet(lambda e: False, 1.0)
        self.assertEqual(1, len(bsock.of(cid, "call.incoming")), "rang again")
        self.assertEqual(1, len(asock.of(cid, "call.ringing")))
        self.assertEqual(1, len([e for e in bsock.events if e["event"] == "call.incoming"]),
                         "a second call rang")
        # Still the same answer once the call ended.
        await self.api.action(a, cid, "end", adev)
        third = (await self.api.create(a, adev, b.id, headers=key)).body
        self.assertEqual(cid, third["call"]["callId"])
        await bsock.quiet(lambda e: False, 0.5)
        self.assertEqual(1, len([e for e in bsock.events if e["event"] == "call.incoming"]))
        # The same key from another user is another call.
        odev = await self.device(other)
        fourth = (await self.api.create(other, odev, b.id, headers=key)).body
        self.assertNotEqual(cid, fourth["call"]["callId"])

    async def test_busy(self):
        for connect in (False, True):
            with self.subTest(connected=connect):
                a, b, c = User("a"), User("b"), User("c")
                adev, asock = await self.online(a)
                bdev, bsock = await self.online(b)
                cdev, _ = await self.online(c)
                first = (await self.api.create(c, cdev, b.id)).body["call"]["callId"]
                await bsock.wait_event(first, "call.incoming")
                await self.api.action(b, first, "accept", bdev)
                if connect:
                    await self.api.action(b, first, "connected", bdev)
                r = await self.api.create(a, adev, b.id)
                cid = r.body["call"]["callId"]
                busy = await asock.wait_event(cid, "call.busy", reason="busy")
                ended = await asock.wait_event(cid, "call.ended", reason="busy")
                self.assertLess(busy["seq"], ended["seq"])
                self.assertLess(asock.events.index(busy), asock.events.index(ended))
                call = (await self.api.get_call(a, cid)).body["call"]
                self.assertEqual(("ended", "busy"), (call["state"], call["endReason"]))
                self.assertEqual("busy", participant(call, b.id)["state"])
                self.assertEqual("connected" if connect else "connecting",
                                 (await self.api.get_call(b, first)).body["call"]["state"])

    async def test_glare(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        ab = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await bsock.wait_event(ab, "call.incoming")
        ba = (await self.api.create(b, bdev, a.id)).body["call"]["callId"]
        survivor, loser = sorted([ab, ba], key=str.lower)
        # The loser's placer is the callee of the survivor.
        placer, placer_dev, placer_sock = (b, bdev, bsock) if loser == ba else (a, adev, asock)
        other_sock = asock if placer is b else bsock
        ended = await self.api.wait_call(a, loser, lambda c: c["state"] == "ended",
                                         what="the larger callId ended")
        self.assertEqual("glare", ended["endReason"])
        await placer_sock.wait_event(loser, "call.ended", reason="glare")
        surviving = await self.api.wait_call(a, survivor,
                                             lambda c: c["state"] in ("connecting", "connected"),
                                             what="the smaller callId accepted")
        p = participant(surviving, placer.id)
        self.assertEqual("accepted", p["state"])
        self.assertEqual(placer_dev, p["deviceId"])
        self.assertIsNone(surviving["endReason"])
        await other_sock.wait_event(survivor, "call.accepted")
        # The two devices now signal on the surviving call.
        caller, caller_dev = (a, adev) if placer is b else (b, bdev)
        await self.api.sdp(caller, survivor, caller_dev, "offer", "v=0\r\nglare\r\n")
        offer = await placer_sock.wait_event(survivor, "signal.offer")
        self.assertEqual(caller_dev, offer["data"]["fromDeviceId"])
        await self.api.action(placer, survivor, "connected", placer_dev)

    async def test_admin_timeline(self):
        c = await self.ringing_call()
        a, b, cid = c["a"], c["b"], c["cid"]
        await self.api.action(b, cid, "ringing", c["bdev"])
        await self.api.action(b, cid, "accept", c["bdev"])
        await self.api.action(b, cid, "connected", c["bdev"])
        await self.api.action(a, cid, "end", c["adev"])
        url = f"{self.server.control_url}/admin/calls/{cid}"
        async with self.session.get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
            self.assertEqual(200, r.status, await r.text())
            body = await r.json()
        self.assertEqual(cid, body["call"]["callId"])
        self.assertEqual("hangup", body["call"]["endReason"])
        self.api.openapi.validate(self.api.openapi.component("Call"), body["call"], "admin call")
        timeline = body["timeline"]
        self.assertGreaterEqual(len(timeline), 4, timeline)
        ats = []
        for entry in timeline:
            self.assertIsInstance(entry["event"], str)
            self.assertTrue(RFC3339_UTC.match(entry["at"]), entry)
            ats.append(entry["at"])
        self.assertEqual(ats, sorted(ats), "timeline out of order")
        with_device = [e for e in timeline if e.get("deviceId") == c["bdev"]]
        self.assertTrue(with_device, f"no device event in {timeline}")
        async with self.session.get(url) as r:
            self.assertEqual(401, r.status)
        async with self.session.get(url, headers={"Authorization": "Bearer wrong"}) as r:
            self.assertEqual(401, r.status)
        async with self.session.get(f"{self.server.control_url}/admin/calls/{uuid.uuid4()}",
                                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
            self.assertEqual(404, r.status)

    async def test_metrics(self):
        c = await self.ringing_call()
        await self.api.action(c["b"], c["cid"], "decline", c["bdev"])
        await c["asock"].wait_event(c["cid"], "call.ended")
        await self.api.get_call(c["a"], str(uuid.uuid4()), expect=(404, "not_found"))
        text = await self.metrics_text()
        samples = parse_metrics(text)

        def find(name, **labels):
            return [v for n, l, v in samples
                    if n == name and all(l.get(k) == want for k, want in labels.items())]

        declined = find("turnpike_calls_ended_total", reason="declined")
        self.assertTrue(declined, 'no turnpike_calls_ended_total{reason="declined"}')
        self.assertGreaterEqual(declined[0], 1)
        for status in ("201", "404"):
            rows = [(l, v) for n, l, v in samples
                    if n == "turnpike_api_requests_total" and l.get("status") == status]
            self.assertTrue(rows, f'no turnpike_api_requests_total{{status="{status}"}}')
            self.assertTrue(all(l.get("route") for l, _ in rows), rows)
        ws = find("turnpike_websocket_connections")
        self.assertTrue(ws, "no turnpike_websocket_connections")
        self.assertGreaterEqual(ws[0], 2)
        self.assertNotIn(c["cid"], text, "a per-call label in the metrics")
        self.assertNotIn(c["a"].id, text, "a per-user label in the metrics")


class RingSelectionTest(ServerTestCase):

    async def test_ring_at_most_three_most_recently_seen(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        devs = {}
        for name in ("d1", "d2", "d3", "d4"):
            await self.api.register(b, name)
            devs[name] = await self.socket(b, name)
        await self.api.register(b, "nocalls", capabilities={"calls": False})
        devs["nocalls"] = await self.socket(b, "nocalls")
        # d1 is the least recently seen; nocalls the most, but takes no calls.
        for name in ("d2", "d3", "d4", "nocalls"):
            await asyncio.sleep(0.05)
            await self.api.request("POST", "/v1/devices/heartbeat", b.token, {"deviceId": name},
                                   expect=200)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        for name in ("d2", "d3", "d4"):
            await devs[name].wait_event(cid, "call.incoming")
        await devs["d1"].quiet(lambda e: e.get("callId") == cid and e["event"] == "call.incoming",
                               0.7)
        await devs["nocalls"].quiet(lambda e: e.get("callId") == cid, 0.0)
        # call.ringing reaches the caller once, however many devices ring.
        await asock.wait_event(cid, "call.ringing")
        await asock.quiet(lambda e: False, 0.3)
        self.assertEqual(1, len(asock.of(cid, "call.ringing")))
        # Ring stops everywhere it rang when one answers.
        await self.api.action(b, cid, "accept", "d3")
        for name in ("d2", "d4"):
            await devs[name].wait_event(cid, "call.ended", reason="answered_elsewhere")


class BusyPolicyRingTest(ServerTestCase):
    CONFIG = {"calls": {"busy_policy": "ring"}}

    async def test_callee_in_a_call_still_rings(self):
        a, b, c = User("a"), User("b"), User("c")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        cdev, _ = await self.online(c)
        first = (await self.api.create(c, cdev, b.id)).body["call"]["callId"]
        await bsock.wait_event(first, "call.incoming")
        await self.api.action(b, first, "accept", bdev)
        await self.api.action(b, first, "connected", bdev)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        await asock.wait_event(cid, "call.ringing")
        call = (await self.api.get_call(a, cid)).body["call"]
        self.assertEqual("ringing", call["state"])
        self.assertEqual([], asock.of(cid, "call.busy"))


class TurnUrisTest(CallTestMixin, ServerTestCase):
    CONFIG = {"api": {"turn_uris": ["turn:turn.example.com:3478?transport=udp",
                                    "turns:turn.example.com:5349?transport=tcp"]}}

    async def test_configured_uris_are_handed_out(self):
        c = await self.ringing_call()
        self.check_turn(c["created"]["turn"], c["a"], c["created"]["call"])
        r = await self.api.action(c["b"], c["cid"], "accept", c["bdev"])
        self.check_turn(r.body["turn"], c["b"], r.body["call"])
        creds = (await self.api.turn_credentials(r.body["callToken"])).body
        self.assertEqual(self.CONFIG["api"]["turn_uris"], creds["uris"])


class CreateRateLimitTest(ServerTestCase):

    async def test_eleventh_create_in_a_minute(self):
        a, b, other = User("a"), User("b"), User("o")
        adev = await self.device(a)
        for _ in range(10):
            await self.api.create(a, adev, b.id)
        r = await self.api.create(a, adev, b.id, expect=(429, "rate_limited"))
        retry = r.headers.get("Retry-After")
        self.assertIsNotNone(retry)
        self.assertRegex(retry, r"^\d+$")
        self.assertTrue(1 <= int(retry) <= 60, retry)
        # Per user: someone else still creates.
        odev = await self.device(other)
        await self.api.create(other, odev, b.id)


class SignalRateLimitTest(ServerTestCase):

    async def test_signals_per_call_per_second(self):
        c = await self.ringing_call()
        cand = "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host"
        results = await asyncio.gather(*[
            self.api.ice(c["a"], c["cid"], c["adev"], cand, expect=None, sdpMid="0",
                         sdpMLineIndex=0) for _ in range(150)])
        statuses = [r.status for r in results]
        self.assertTrue(set(statuses) <= {202, 429}, statuses)
        limited = [r for r in results if r.status == 429]
        self.assertTrue(limited, "150 signals at once and none was limited")
        self.assertGreaterEqual(statuses.count(202), 1)
        for r in limited:
            self.assertEqual("rate_limited", r.error_code)
            self.assertRegex(r.headers.get("Retry-After", ""), r"^\d+$")
        await asyncio.sleep(1.2)
        await self.api.ice(c["a"], c["cid"], c["adev"], cand, sdpMid="0", sdpMLineIndex=0)


if __name__ == "__main__":
    unittest.main()
