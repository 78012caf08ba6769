"""Call-bound TURN credentials, checked with an independent TURN client
(aioice): allocate while the call lives, deleted and refused once it ends,
still refused after a restart."""

import asyncio
import time
import unittest

from aioice import stun, turn

from harness import (ADMIN_TOKEN, ServerTestCase, User, parse_metrics, participant,
                     unverified_claims)


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


class TurnTest(ServerTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        loop = asyncio.get_running_loop()
        self.peer, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        self.peer_addr = self.peer.get_extra_info("sockname")
        self.relays = []

    async def asyncTearDown(self):
        for relay in self.relays:
            inner = relay._TurnTransport__inner_protocol
            if inner.refresh_handle:
                inner.refresh_handle.cancel()
            inner.transport.close()
        self.peer.close()
        await super().asyncTearDown()

    async def allocate(self, creds):
        relay, receiver = await asyncio.wait_for(
            turn.create_turn_endpoint(Receiver, server_addr=("127.0.0.1", self.server.ports["udp"]),
                                      username=creds["username"], password=creds["password"],
                                      transport="udp"), 10)
        self.relays.append(relay)
        return relay, receiver

    async def echo(self, relay, receiver, n=3):
        for i in range(n):
            msg = b"call-bound %d" % i
            relay.sendto(msg, self.peer_addr)
            data, addr = await asyncio.wait_for(receiver.queue.get(), 3)
            self.assertEqual(msg, data)

    async def refresh(self, relay, lifetime=600):
        """A raw Refresh on the allocation's 5-tuple; returns the error code or 0."""
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

    async def active_allocations(self):
        rows = [v for n, l, v in parse_metrics(await self.metrics_text())
                if n == "turnpike_allocations_active" and l.get("transport") == "udp"]
        self.assertTrue(rows, "no turnpike_allocations_active{transport=udp}")
        return int(rows[0])

    async def wait_allocations(self, n, timeout=3.0):
        """The metric is published by each worker's sweep: allow for its lag."""
        deadline = time.monotonic() + timeout
        while True:
            got = await self.active_allocations()
            if got == n or time.monotonic() > deadline:
                self.assertEqual(n, got, "turnpike_allocations_active{transport=udp}")
                return
            await asyncio.sleep(0.1)

    async def connected_call(self):
        a, b = User("a"), User("b")
        adev, asock = await self.online(a)
        bdev, bsock = await self.online(b)
        created = (await self.api.create(a, adev, b.id, "audio")).body
        cid = created["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming")
        accepted = (await self.api.action(b, cid, "accept", bdev)).body
        await self.api.action(b, cid, "connected", bdev)
        return a, adev, b, bdev, cid, created, accepted

    async def test_turn_credentials_bound_to_the_call(self):
        a, adev, b, bdev, cid, created, accepted = await self.connected_call()
        # The credentials endpoint takes the call token.
        caller_creds = (await self.api.turn_credentials(created["callToken"])).body
        callee_creds = (await self.api.turn_credentials(accepted["callToken"])).body
        call = accepted["call"]
        self.assertRegex(caller_creds["username"],
                         rf"^\d+:{cid}:{participant(call, a.id)['participantId']}$")
        self.assertRegex(callee_creds["username"],
                         rf"^\d+:{cid}:{participant(call, b.id)['participantId']}$")
        await self.api.turn_credentials("not-a-call-token", expect=(401, "unauthorized"))
        await self.api.turn_credentials(a.token, expect=(401, "unauthorized"))
        base = await self.active_allocations()
        # Both sides allocate and relay (credentials from create/accept and
        # from the endpoint alike).
        r1, q1 = await self.allocate(created["turn"])
        await self.echo(r1, q1)
        r2, q2 = await self.allocate(callee_creds)
        await self.echo(r2, q2)
        r3, q3 = await self.allocate(caller_creds)
        await self.echo(r3, q3, 1)
        self.assertEqual(0, await self.refresh(r1))
        await self.wait_allocations(base + 3)
        # The call ends: every allocation goes within a second, so a second
        # later nothing is relayed any more, either way.
        await self.api.action(a, cid, "end", adev)
        await asyncio.sleep(1.0)
        for relay, q in ((r1, q1), (r2, q2), (r3, q3)):
            self.peer.sendto(b"after the end", relay.get_extra_info("sockname"))
            relay.sendto(b"after the end", self.peer_addr)
        await asyncio.sleep(0.5)
        self.assertTrue(q1.queue.empty() and q2.queue.empty() and q3.queue.empty(),
                        "data relayed more than a second after the call ended")
        await self.wait_allocations(base)
        # Usage records name the call and the reason.
        log = self.server.log()
        self.assertTrue(any(cid in line and "call_ended" in line for line in log.splitlines()),
                        "no usage record with the callId and reason call_ended in the log")
        # A Refresh on a deleted allocation: 437 Allocation Mismatch.
        for relay in (r1, r2, r3):
            with self.subTest(refresh_after_end=relay.get_extra_info("sockname")):
                self.assertEqual(437, await self.refresh(relay), "a Refresh after the call ended")
        # New requests with the credentials: 401.
        for creds in (created["turn"], callee_creds, caller_creds):
            with self.assertRaises(stun.TransactionFailed) as ctx:
                await self.allocate(creds)
            self.assertEqual(401, error_code(ctx.exception))
        await self.api.turn_credentials(created["callToken"], expect=(409, "call_ended"))
        await self.api.turn_credentials(accepted["callToken"], expect=(409, "call_ended"))
        # Usage and the admin timeline name the call.
        async with self.session.get(
                f"{self.server.control_url}/admin/calls/{cid}",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
            self.assertEqual(200, r.status)
            timeline = (await r.json())["timeline"]
        self.assertTrue(any("alloc" in e["event"].lower() for e in timeline),
                        f"no TURN allocation in the timeline: {timeline}")
        # After a restart on the same store they stay refused.
        self.server.restart()
        for creds in (created["turn"], callee_creds):
            with self.assertRaises(stun.TransactionFailed) as ctx:
                await self.allocate(creds)
            self.assertEqual(401, error_code(ctx.exception))
        await self.api.turn_credentials(created["callToken"], expect=(409, "call_ended"))

    async def test_tcp_allocation_deleted_when_call_ends(self):
        a, adev, b, bdev, cid, created, accepted = await self.connected_call()
        relay, q = await asyncio.wait_for(
            turn.create_turn_endpoint(Receiver, server_addr=("127.0.0.1", self.server.ports["tcp"]),
                                      username=accepted["turn"]["username"],
                                      password=accepted["turn"]["password"], transport="tcp"), 10)
        self.relays.append(relay)
        await self.echo(relay, q, 2)
        await self.api.action(b, cid, "end", bdev)
        await asyncio.sleep(1.0)
        self.peer.sendto(b"after the end", relay.get_extra_info("sockname"))
        relay.sendto(b"after the end", self.peer_addr)
        await asyncio.sleep(0.5)
        self.assertTrue(q.queue.empty(), "data relayed over TCP after the call ended")

    async def test_allocation_survives_while_call_lives(self):
        a, adev, b, bdev, cid, created, accepted = await self.connected_call()
        relay, q = await self.allocate(accepted["turn"])
        await self.echo(relay, q, 1)
        # Another call ending does not touch this one.
        x, y = User("x"), User("y")
        xdev, _ = await self.online(x)
        ydev, ysock = await self.online(y)
        other = (await self.api.create(x, xdev, y.id)).body["call"]["callId"]
        await ysock.wait_event(other, "call.incoming")
        await self.api.action(x, other, "end", xdev)
        await asyncio.sleep(1.2)
        self.assertEqual(0, await self.refresh(relay))
        await self.echo(relay, q, 1)


class ShortTtlTest(TurnTest):
    """call_tokens.turn_ttl gates new Allocates only; call_tokens.ttl bounds
    the call token."""

    CONFIG = {"call_tokens": {"ttl": "2s", "turn_ttl": "2s"}}

    async def test_allocation_outlives_turn_ttl_while_call_lives(self):
        a, adev, b, bdev, cid, created, accepted = await self.connected_call()
        relay, q = await self.allocate(created["turn"])
        await self.echo(relay, q, 1)
        await asyncio.sleep(3.5)
        # The credentials expired: no new allocation with them...
        with self.assertRaises(stun.TransactionFailed) as ctx:
            await self.allocate(created["turn"])
        self.assertEqual(401, error_code(ctx.exception))
        # ...but the one made in time refreshes and relays while the call lives.
        self.assertEqual(0, await self.refresh(relay))
        await self.echo(relay, q, 1)
        # And the call token expired: no more credentials from it.
        # (Past its exp plus a few seconds of leeway for clock skew.)
        claims = unverified_claims(created["callToken"])
        self.assertLessEqual(claims["exp"] - claims["iat"], 2, claims)
        await asyncio.sleep(max(0.0, claims["exp"] + 6 - time.time()))
        await self.api.turn_credentials(created["callToken"], expect=(401, "unauthorized"))
        await self.api.action(a, cid, "end", adev)

    # The inherited tests run with the long defaults only.
    test_turn_credentials_bound_to_the_call = None
    test_allocation_survives_while_call_lives = None
    test_tcp_allocation_deleted_when_call_ends = None


if __name__ == "__main__":
    unittest.main()
