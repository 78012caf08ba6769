"""The events WebSocket: seq, replay to late devices, signaling both ways,
ring timeout, and a client that never reads."""

import asyncio
import base64
import json
import os
import socket
import struct
import time
import unittest

import websockets

from harness import ServerTestCase, User

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
ANSWER = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
CAND = "candidate:842163049 1 udp 1677729535 192.0.2.7 61234 typ srflx raddr 0.0.0.0 rport 0"


class EventsTest(ServerTestCase):

    async def test_seq_grows_per_call(self):
        c = await self.ringing_call()
        a, b, cid = c["a"], c["b"], c["cid"]
        await self.api.sdp(a, cid, c["adev"], "offer", OFFER)
        await c["bsock"].wait_event(cid, "signal.offer")
        await self.api.action(b, cid, "accept", c["bdev"])
        await self.api.sdp(b, cid, c["bdev"], "answer", ANSWER)
        await self.api.ice(a, cid, c["adev"], CAND, sdpMid="0", sdpMLineIndex=0)
        await self.api.ice(b, cid, c["bdev"], CAND, sdpMid="0", sdpMLineIndex=0)
        await c["asock"].wait_event(cid, "signal.ice")
        await c["bsock"].wait_event(cid, "signal.ice")
        await self.api.action(b, cid, "connected", c["bdev"])
        await self.api.action(a, cid, "end", c["adev"])
        await c["asock"].wait_event(cid, "call.ended")
        await c["bsock"].wait_event(cid, "call.ended")
        by_seq = {}
        for sock in (c["asock"], c["bsock"]):
            events = sock.of(cid)
            seqs = [e["seq"] for e in events]
            self.assertEqual(seqs, sorted(set(seqs)), f"{sock.device_id}: {events}")
            for e in events:
                # One seq, one event of the call.
                prev = by_seq.setdefault(e["seq"], e["event"])
                self.assertEqual(prev, e["event"], f"seq {e['seq']} names two events")
        names = [e["event"] for e in c["asock"].of(cid)]
        self.assertEqual(["call.ringing", "call.accepted", "signal.answer", "signal.ice",
                          "call.ended"], names)
        # Whether the accepting device hears its own accept is not fixed.
        names = [e["event"] for e in c["bsock"].of(cid) if e["event"] != "call.accepted"]
        self.assertEqual(["call.incoming", "signal.offer", "signal.ice", "call.ended"], names)

    async def test_signal_data_over_rest(self):
        c = await self.ringing_call()
        a, b, cid = c["a"], c["b"], c["cid"]
        r = await self.api.sdp(a, cid, c["adev"], "offer", OFFER)
        self.assertEqual({}, r.body)
        offer = await c["bsock"].wait_event(cid, "signal.offer")
        self.assertEqual(OFFER, offer["data"]["sdp"])
        self.assertEqual(a.id, offer["data"]["fromUserId"])
        self.assertEqual(c["adev"], offer["data"]["fromDeviceId"])
        await self.api.action(b, cid, "accept", c["bdev"])
        await self.api.sdp(b, cid, c["bdev"], "answer", ANSWER)
        answer = await c["asock"].wait_event(cid, "signal.answer")
        self.assertEqual(ANSWER, answer["data"]["sdp"])
        self.assertEqual(b.id, answer["data"]["fromUserId"])
        self.assertEqual(c["bdev"], answer["data"]["fromDeviceId"])
        r = await self.api.ice(b, cid, c["bdev"], CAND, sdpMid="audio", sdpMLineIndex=1)
        self.assertEqual({}, r.body)
        ice = await c["asock"].wait_event(cid, "signal.ice")
        self.assertEqual(CAND, ice["data"]["candidate"])
        self.assertEqual("audio", ice["data"]["sdpMid"])
        self.assertEqual(1, ice["data"]["sdpMLineIndex"])
        self.assertEqual(b.id, ice["data"]["fromUserId"])
        self.assertEqual(c["bdev"], ice["data"]["fromDeviceId"])
        # Nothing echoes back to the sender.
        await c["bsock"].quiet(lambda e: e.get("callId") == cid and e["event"] in
                               ("signal.answer", "signal.ice"), 0.5)
        await c["asock"].quiet(lambda e: e.get("callId") == cid and e["event"] ==
                               "signal.offer", 0.1)

    async def test_signal_over_websocket(self):
        c = await self.ringing_call()
        a, b, cid = c["a"], c["b"], c["cid"]
        await c["asock"].send({"event": "signal.offer", "callId": cid, "deviceId": c["adev"],
                               "data": {"sdp": OFFER}})
        offer = await c["bsock"].wait_event(cid, "signal.offer")
        self.assertEqual(OFFER, offer["data"]["sdp"])
        self.assertEqual(a.id, offer["data"]["fromUserId"])
        self.assertEqual(c["adev"], offer["data"]["fromDeviceId"])
        await self.api.action(b, cid, "accept", c["bdev"])
        await c["bsock"].send({"event": "signal.answer", "callId": cid, "deviceId": c["bdev"],
                               "data": {"sdp": ANSWER}})
        answer = await c["asock"].wait_event(cid, "signal.answer")
        self.assertEqual(ANSWER, answer["data"]["sdp"])
        self.assertEqual(c["bdev"], answer["data"]["fromDeviceId"])
        await c["bsock"].send({"event": "signal.ice", "callId": cid, "deviceId": c["bdev"],
                               "data": {"candidate": CAND, "sdpMid": "0", "sdpMLineIndex": 0}})
        ice = await c["asock"].wait_event(cid, "signal.ice")
        self.assertEqual((CAND, "0", 0), (ice["data"]["candidate"], ice["data"]["sdpMid"],
                                          ice["data"]["sdpMLineIndex"]))
        self.assertEqual(b.id, ice["data"]["fromUserId"])
        # A socket may not speak for another user's call.
        stranger = User("s")
        sdev, ssock = await self.online(stranger)
        await ssock.send({"event": "signal.offer", "callId": cid, "deviceId": sdev,
                          "data": {"sdp": "v=0\r\nstranger"}})
        await c["bsock"].quiet(lambda e: "stranger" in json.dumps(e), 0.7)
        await c["asock"].quiet(lambda e: "stranger" in json.dumps(e), 0.0)

    async def _call_with_offer(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        b1, s1 = await self.online(b)
        late = await self.device(b, "ios", push_tokens=[{"kind": "voip", "token": "z" * 64}])
        cid = (await self.api.create(a, adev, b.id, "audio")).body["call"]["callId"]
        await self.api.sdp(a, cid, adev, "offer", OFFER)
        live = await s1.wait_event(cid, "signal.offer")
        incoming = await s1.wait_event(cid, "call.incoming")
        return dict(a=a, adev=adev, asock=asock, b=b, b1=b1, s1=s1, late=late, cid=cid,
                    live=live, incoming=incoming)

    # A device woken by its push gets the offer replayed: test_push.py
    # (TestInvites.test_offer_replayed_to_a_device_woken_by_its_push), where a
    # push provider is configured.

    async def test_offer_goes_to_every_ringing_device(self):
        a, b = User("a"), User("b")
        adev, _ = await self.online(a)
        b1, s1 = await self.online(b)
        b2, s2 = await self.online(b, "android")
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.api.sdp(a, cid, adev, "offer", OFFER)
        o1 = await s1.wait_event(cid, "signal.offer")
        o2 = await s2.wait_event(cid, "signal.offer")
        self.assertEqual(o1["seq"], o2["seq"], "one event, one seq")
        self.assertEqual(OFFER, o2["data"]["sdp"])

    async def test_events_replayed_on_reconnect(self):
        c = await self._call_with_offer()
        cid = c["cid"]
        # The device that saw them live reconnects: the same events with the
        # same seq, incoming included.
        await c["s1"].close()
        s1b = await self.socket(c["b"], c["b1"])
        self.assertGreaterEqual(s1b.hello_ok["replayed"], 2)
        again = await s1b.wait_event(cid, "signal.offer")
        self.assertEqual(c["live"]["seq"], again["seq"])
        self.assertEqual(OFFER, again["data"]["sdp"])
        inc = await s1b.wait_event(cid, "call.incoming")
        self.assertEqual(c["incoming"]["seq"], inc["seq"])
        # hello.ok counted what was replayed, and nothing else came.
        await asyncio.sleep(0.3)
        self.assertEqual(s1b.hello_ok["replayed"], len(s1b.events))
        await self.api.action(c["b"], cid, "accept", c["b1"])
        await c["asock"].wait_event(cid, "call.accepted")

    async def test_hello_for_another_users_device_leaks_nothing(self):
        c = await self.ringing_call()
        await self.api.sdp(c["a"], c["cid"], c["adev"], "offer", OFFER)
        await c["bsock"].wait_event(c["cid"], "signal.offer")
        stranger = User("s")
        await self.device(stranger)
        for victim in (c["bdev"], c["adev"]):
            ws = await websockets.connect(self.server.ws_url, open_timeout=5,
                                          extra_headers={"Authorization":
                                                         f"Bearer {stranger.token}"})
            try:
                await ws.send(json.dumps({"event": "hello", "deviceId": victim,
                                          "foreground": True}))
                got = []
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    try:
                        got.append(json.loads(await asyncio.wait_for(
                            ws.recv(), deadline - time.monotonic())))
                    except (asyncio.TimeoutError, websockets.ConnectionClosed):
                        break
                self.assertFalse([m for m in got if m.get("callId") == c["cid"]
                                  or (m.get("event") == "hello.ok" and m.get("replayed"))],
                                 f"another user's device events leaked: {got}")
            finally:
                await ws.close()
        # And the victim's own socket is still the one that gets events.
        await self.api.ice(c["a"], c["cid"], c["adev"], CAND)
        await c["bsock"].wait_event(c["cid"], "signal.ice")

    async def test_no_replay_for_ended_calls(self):
        c = await self.ringing_call()
        await self.api.action(c["a"], c["cid"], "end", c["adev"])
        await c["bsock"].wait_event(c["cid"], "call.ended")
        await c["bsock"].close()
        s = await self.socket(c["b"], c["bdev"])
        self.assertEqual(0, s.hello_ok["replayed"])

    async def test_background_socket_still_gets_incoming(self):
        a, b = User("a"), User("b")
        adev, _ = await self.online(a)
        bdev, bsock = await self.online(b)
        await bsock.send({"event": "hello", "deviceId": bdev, "foreground": False})
        await asyncio.sleep(0.3)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")

    async def test_hello_again_is_answered(self):
        u = User()
        dev, sock = await self.online(u)
        await sock.send({"event": "hello", "deviceId": dev, "foreground": False})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                m.get("event") == "hello.ok" for m in sock.other):
            await asyncio.sleep(0.05)
        self.assertTrue(any(m.get("event") == "hello.ok" and m.get("deviceId") == dev
                            for m in sock.other), f"no hello.ok for the second hello: {sock.other}")


class RingTimeoutTest(ServerTestCase):
    CONFIG = {"calls": {"ring_timeout": "2s"}}

    async def test_ring_timeout(self):
        c = await self.ringing_call()
        cid = c["cid"]
        timeout = await c["asock"].wait_event(cid, "call.timeout", timeout=15,
                                              reason="ring_timeout")
        ended = await c["asock"].wait_event(cid, "call.ended", timeout=5, reason="ring_timeout")
        self.assertLess(timeout["seq"], ended["seq"])
        await c["bsock"].wait_event(cid, "call.ended", timeout=5)
        call = (await self.api.get_call(c["a"], cid)).body["call"]
        self.assertEqual(("ended", "ring_timeout"), (call["state"], call["endReason"]))
        await self.api.action(c["b"], cid, "accept", c["bdev"], expect=(409, "call_ended"))

    async def test_accepted_call_does_not_time_out(self):
        c = await self.ringing_call()
        await self.api.action(c["b"], c["cid"], "accept", c["bdev"])
        await self.api.action(c["b"], c["cid"], "connected", c["bdev"])
        await asyncio.sleep(3.5)
        call = (await self.api.get_call(c["a"], c["cid"])).body["call"]
        self.assertEqual("connected", call["state"])


class ConnectTimeoutTest(ServerTestCase):
    CONFIG = {"calls": {"connect_timeout": "2s"}}

    async def test_connect_timeout(self):
        c = await self.ringing_call()
        await self.api.action(c["b"], c["cid"], "accept", c["bdev"])
        ended = await c["asock"].wait_event(c["cid"], "call.ended", timeout=15,
                                            reason="connect_timeout")
        self.assertIsNotNone(ended)
        call = (await self.api.get_call(c["a"], c["cid"])).body["call"]
        self.assertEqual("connect_timeout", call["endReason"])


class MaxDurationTest(ServerTestCase):
    CONFIG = {"calls": {"max_duration": "3s", "ring_timeout": "2s"}}

    async def test_max_duration_hangs_up(self):
        c = await self.ringing_call()
        await self.api.action(c["b"], c["cid"], "accept", c["bdev"])
        await self.api.action(c["b"], c["cid"], "connected", c["bdev"])
        await c["asock"].wait_event(c["cid"], "call.ended", timeout=15, reason="hangup")
        call = (await self.api.get_call(c["a"], c["cid"])).body["call"]
        self.assertEqual("hangup", call["endReason"])


def ws_frame(payload: bytes, opcode=0x1):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class SlowConsumerTest(ServerTestCase):
    """A WebSocket client that never reads must be cut off, not buffered."""

    def raw_socket(self, user, device_id):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5)
        s.connect(("127.0.0.1", self.server.ports["api"]))
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {user.token}\r\n\r\n")
                  .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                raise AssertionError(f"closed during the handshake: {head!r}")
            head += chunk
        self.assertIn(b" 101 ", head.split(b"\r\n")[0])
        s.sendall(ws_frame(json.dumps({"event": "hello", "deviceId": device_id,
                                       "foreground": True}).encode()))
        return s

    async def test_never_reading_client_is_closed(self):
        b = User("b")
        bdev = await self.device(b)
        raw = self.raw_socket(b, bdev)
        try:
            await self._flood(b, bdev, raw)
        finally:
            raw.close()

    async def _flood(self, b, bdev, raw):
        # Five callers ring b, whose only device never reads.
        calls = []
        for _ in range(5):
            a = User("a")
            adev = await self.device(a)
            r = await self.api.create(a, adev, b.id)
            self.assertEqual("ringing", (await self.api.wait_call(
                a, r.body["call"]["callId"], lambda c: c["state"] == "ringing")).get("state"))
            calls.append((a, adev, r.body["call"]["callId"]))
        rss_before = self.server.rss_kb()
        sdp = "v=0\r\n" + "a=x-pad:" + "p" * (30 * 1024) + "\r\n"
        sent = 0
        deadline = time.monotonic() + 20
        # ~40 signals per call per second (under the limit of 50), 30 KiB each:
        # about 6 MB/s towards a socket that takes nothing.
        while sent < 30 * 1024 * 1024 and time.monotonic() < deadline:
            t0 = time.monotonic()
            results = await asyncio.gather(*[
                self.api.sdp(a, cid, adev, "offer", sdp, expect=None)
                for a, adev, cid in calls for _ in range(8)])
            for r in results:
                # 429: the per-call rate; 409 signaling_limit: the per-call budget.
                self.assertIn(r.status, (202, 409, 429), repr(r))
                if r.status == 202:
                    sent += len(sdp)
            await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - t0)))
        rss_after = self.server.rss_kb()
        self.assertLess(rss_after - rss_before, 64 * 1024,
                        f"RSS grew from {rss_before} kB to {rss_after} kB")
        # The server is healthy.
        async with self.session.get(f"{self.server.control_url}/healthz") as r:
            self.assertEqual(200, r.status)
        u = User()
        await self.api.register(u, "still-works")
        # The raw socket was closed by the server: reading it reaches EOF or a
        # reset (or a close frame) within a bounded time, without having
        # buffered everything that was sent.
        received = await asyncio.get_running_loop().run_in_executor(None, self._drain, raw)
        self.assertLess(received, sent, "the server buffered every byte for a client that "
                                        "never read")

    @staticmethod
    def _drain(raw):
        raw.settimeout(1.0)
        total = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                chunk = raw.recv(1 << 20)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return total
            if not chunk:
                return total
            total += len(chunk)
        raise AssertionError(f"the socket that never read is still open after reading "
                             f"{total} bytes for 30 s")


if __name__ == "__main__":
    unittest.main()
