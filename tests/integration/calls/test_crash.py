"""kill -9 and restart on the same SQLite file: calls keep their state, their
timers still fire, devices and idempotency keys survive."""

import asyncio
import unittest
import uuid

import jwt
from aioice import turn

from harness import ServerTestCase, User, participant


class CrashTest(ServerTestCase):
    CONFIG = {"calls": {"ring_timeout": "8s", "connect_timeout": "8s"}}

    def crash_and_restart(self):
        self.server.kill9()
        self.server.start()

    async def drop_sockets(self):
        for s in self.sockets:
            await s.close()

    async def test_kill_while_ringing(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b, push_tokens=[{"kind": "voip", "token": "k" * 64}])
        key = {"Idempotency-Key": uuid.uuid4().hex}
        created = (await self.api.create(a, adev, b.id, headers=key)).body
        cid = created["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        before = (await self.api.get_call(a, cid)).body["call"]
        self.assertEqual("ringing", before["state"])
        self.crash_and_restart()
        await self.drop_sockets()
        asock2 = await self.socket(a, adev)
        after = (await self.api.get_call(a, cid)).body["call"]
        self.assertEqual(before, after)
        # Devices and the idempotency key survived.
        devices = (await self.api.devices(b)).body["devices"]
        self.assertEqual([bdev], [d["deviceId"] for d in devices])
        self.assertEqual(1, len(devices[0]["pushTokens"]))
        again = (await self.api.create(a, adev, b.id, headers=key)).body
        self.assertEqual(cid, again["call"]["callId"])
        # The ring timer still fires.
        await asock2.wait_event(cid, "call.timeout", timeout=20, reason="ring_timeout")
        await asock2.wait_event(cid, "call.ended", timeout=5, reason="ring_timeout")
        ended = (await self.api.get_call(b, cid)).body["call"]
        self.assertEqual(("ended", "ring_timeout"), (ended["state"], ended["endReason"]))
        # seq continues past the events before the crash.
        first = max(e["seq"] for e in asock.of(cid))
        self.assertGreater(asock2.of(cid, "call.ended")[0]["seq"], first)

    async def test_kill_keeps_events_for_replay(self):
        a, b = User("a"), User("b")
        adev, _ = await self.online(a)
        bdev, bsock = await self.online(b)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await self.api.sdp(a, cid, adev, "offer", "v=0\r\nbefore the crash\r\n")
        live = await bsock.wait_event(cid, "signal.offer")
        self.crash_and_restart()
        await self.drop_sockets()
        s = await self.socket(b, bdev)
        self.assertGreaterEqual(s.hello_ok["replayed"], 2)
        replay = await s.wait_event(cid, "signal.offer")
        self.assertEqual((live["seq"], live["data"]), (replay["seq"], replay["data"]))
        await s.wait_event(cid, "call.incoming")

    async def test_kill_while_connected(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        created = (await self.api.create(a, adev, b.id, "video")).body
        cid = created["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        accepted = (await self.api.action(b, cid, "accept", bdev)).body
        before = (await self.api.action(b, cid, "connected", bdev)).body["call"]
        self.assertEqual("connected", before["state"])
        self.crash_and_restart()
        await self.drop_sockets()
        asock2 = await self.socket(a, adev)
        bsock2 = await self.socket(b, bdev)
        after = (await self.api.get_call(b, cid)).body["call"]
        self.assertEqual(before, after)
        # The call tokens handed out before the crash still verify (the
        # generated signing key is kept in the store), and new ones carry the
        # same kid.
        await self.api.turn_credentials(created["callToken"])
        creds = (await self.api.turn_credentials(accepted["callToken"])).body
        again = (await self.api.action(b, cid, "accept", bdev)).body
        self.assertEqual(jwt.get_unverified_header(accepted["callToken"])["kid"],
                         jwt.get_unverified_header(again["callToken"])["kid"])
        # The TURN credentials of the live call still allocate.
        relay, _ = await asyncio.wait_for(turn.create_turn_endpoint(
            asyncio.DatagramProtocol, server_addr=("127.0.0.1", self.server.ports["udp"]),
            username=creds["username"], password=creds["password"], transport="udp"), 10)
        relay.close()
        # Nothing times out a connected call (connect_timeout is for accepted ones).
        await asyncio.sleep(9)
        self.assertEqual("connected", (await self.api.get_call(a, cid)).body["call"]["state"])
        # Accept is still idempotent for the winner, refused for others.
        again = (await self.api.action(b, cid, "accept", bdev)).body["call"]
        self.assertEqual(bdev, participant(again, b.id)["deviceId"])
        other = await self.device(b)
        await self.api.action(b, cid, "accept", other, expect=(409, "already_answered"))
        # Signaling and hangup work after the restart.
        await self.api.ice(a, cid, adev, "candidate:1 1 udp 1 192.0.2.1 9 typ host",
                           sdpMid="0", sdpMLineIndex=0)
        await bsock2.wait_event(cid, "signal.ice")
        r = await self.api.action(a, cid, "end", adev)
        self.assertEqual("hangup", r.body["call"]["endReason"])
        await bsock2.wait_event(cid, "call.ended", reason="hangup")
        await asock2.wait_event(cid, "call.ended", reason="hangup")

    async def test_kill_while_connecting_connect_timer_fires(self):
        a, b = User("a"), User("b")
        adev, _ = await self.online(a)
        bdev, bsock = await self.online(b)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        before = (await self.api.action(b, cid, "accept", bdev)).body["call"]
        self.crash_and_restart()
        await self.drop_sockets()
        asock2 = await self.socket(a, adev)
        self.assertEqual(before, (await self.api.get_call(a, cid)).body["call"])
        await asock2.wait_event(cid, "call.ended", timeout=20, reason="connect_timeout")
        self.assertEqual("connect_timeout",
                         (await self.api.get_call(a, cid)).body["call"]["endReason"])

    async def test_kill_after_end(self):
        a, b = User("a"), User("b")
        adev, _ = await self.online(a)
        bdev, bsock = await self.online(b)
        cid = (await self.api.create(a, adev, b.id)).body["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        ended = (await self.api.action(b, cid, "decline", bdev)).body["call"]
        self.crash_and_restart()
        await self.drop_sockets()
        self.assertEqual(ended, (await self.api.get_call(a, cid)).body["call"])
        await self.api.action(b, cid, "accept", bdev, expect=(409, "call_ended"))
        s = await self.socket(b, bdev)
        self.assertEqual(0, s.hello_ok["replayed"])


if __name__ == "__main__":
    unittest.main()
