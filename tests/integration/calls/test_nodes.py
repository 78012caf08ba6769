"""Several nodes sharing one redis-server (`store.backend: redis`): a call
placed on one node rings devices connected to two others, exactly one of two
simultaneous accepts wins, signaling crosses nodes; a call ended on one node
revokes its TURN allocations on another (and after that node restarts);
a device whose node died (kill -9) reconnects elsewhere and gets what it
missed; Redis down: relaying goes on, the API answers 503 with Retry-After,
recovers by itself and the ring timer fires once; a draining node leaves the
TURN URIs handed out, and the asked-for region comes first.

Nodes a and b are in region "eu", c in "us"; each test class has its own
redis-server on a free loopback port. After any node (re)starts, the next
test first waits until every node hands out every node's TURN URIs
(nodes_harness.NodesTestCase.wait_cluster); what a caller sees before that
is test_device_on_a_just_started_node_rings.

Run: /usr/bin/python3 -m unittest tests.integration.calls.test_nodes -v (from
the source tree; TURNPIKE_BINARY as for the other modules, an absolute path;
TURNPIKE_KEEP_TMP=1 keeps the logs)."""

import asyncio
import datetime
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aioice import stun  # noqa: E402

from harness import OpenApi, participant  # noqa: E402
from nodes_harness import NodesTestCase, error_code, node_uris  # noqa: E402

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
ANSWER = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
CAND_A = "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host"
CAND_B = "candidate:2 1 udp 2122260223 192.0.2.2 6000 typ host"
CAND_MISSED = "candidate:3 1 udp 1677729535 192.0.2.3 7000 typ srflx raddr 0.0.0.0 rport 0"


def wall(rfc3339):
    """RFC 3339 UTC -> unix seconds."""
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def names(events):
    return [e["event"] for e in events]


class NodeChecks:
    """Assertions shared by the classes below."""

    def assert_seq_clean(self, sock, call_id):
        """One delivery per event, in increasing seq order."""
        events = sock.of(call_id)
        seqs = [e["seq"] for e in events]
        self.assertEqual(len(seqs), len(set(seqs)),
                         f"{sock.device_id} got a seq twice: {json.dumps(events)[:1500]}")
        self.assertEqual(seqs, sorted(seqs),
                         f"{sock.device_id}: seq not increasing: {json.dumps(events)[:1500]}")

    def assert_one_counter(self, call_id, *socks):
        """One seq names one event, whichever node delivered it."""
        by_seq = {}
        for sock in socks:
            for e in sock.of(call_id):
                prev = by_seq.setdefault(e["seq"], (e["event"], sock.device_id))
                self.assertEqual(prev[0], e["event"],
                                 f"seq {e['seq']} is {prev[0]} on {prev[1]} but {e['event']} on "
                                 f"{sock.device_id}")

    def log_tail(self, *nodes, n=2500):
        return "\n".join(f"--- node {name} log ---\n{self.nodes[name].log()[-n:]}"
                         for name in nodes)


class MultiNodeTest(NodeChecks, NodesTestCase):
    """Three nodes (a, b: eu; c: us) on one redis-server."""

    async def test_cross_node_call(self):
        """Caller on A, the callee's devices on B and C; both accept at once."""
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online("a", a)
        b1, s1 = await self.online("b", b)
        b2, s2 = await self.online("c", b, "android")
        # Both devices are known whichever node is asked.
        for node in ("a", "b", "c"):
            listed = (await self.api(node).devices(b)).body["devices"]
            self.assertEqual({b1, b2}, {d["deviceId"] for d in listed}, f"GET /v1/devices on {node}")
        created = await self.create("a", a, adev, b)
        cid = created["call"]["callId"]
        for sock in (s1, s2):
            await sock.wait_event(cid, "call.incoming", timeout=5)
        await asock.wait_event(cid, "call.ringing", timeout=5)
        await self.api("b").wait_call(b, cid, lambda c: c["state"] == "ringing", timeout=5,
                                      what="ringing, read on B")

        # Both callee devices accept at the same moment, through their own nodes.
        r1, r2 = await asyncio.gather(
            self.api("b").action(b, cid, "accept", b1, expect=None),
            self.api("c").action(b, cid, "accept", b2, expect=None))
        self.assertEqual([200, 409], sorted([r1.status, r2.status]),
                         f"two simultaneous accepts on B and C:\n{r1!r}\n{r2!r}")
        won, lost = (r1, r2) if r1.status == 200 else (r2, r1)
        self.assertEqual("already_answered", lost.error_code, repr(lost))
        (wnode, wdev, wsock), (lnode, ldev, lsock) = (
            (("b", b1, s1), ("c", b2, s2)) if won is r1 else (("c", b2, s2), ("b", b1, s1)))
        call = won.body["call"]
        self.assertEqual("connecting", call["state"])
        self.assertEqual(wdev, participant(call, b.id)["deviceId"])
        # Every node agrees on the winner; the winner's accept again is the same 200.
        for node in ("a", "b", "c"):
            got = (await self.api(node).get_call(a, cid)).body["call"]
            self.assertEqual((call["state"], wdev), (got["state"],
                                                     participant(got, b.id)["deviceId"]),
                             f"GET on {node}")
        again = await self.api(lnode).action(b, cid, "accept", wdev)
        self.assertEqual(call, again.body["call"])
        await self.api(wnode).action(b, cid, "accept", ldev, expect=(409, "already_answered"))

        await asock.wait_event(cid, "call.accepted", timeout=5)
        await lsock.wait_event(cid, "call.ended", timeout=5, reason="answered_elsewhere")

        # Signaling crosses nodes: offer A -> winner, answer and ICE back.
        await self.api("a").sdp(a, cid, adev, "offer", OFFER)
        offer = await wsock.wait_event(cid, "signal.offer", timeout=5)
        self.assertEqual((OFFER, a.id, adev), (offer["data"]["sdp"], offer["data"]["fromUserId"],
                                               offer["data"]["fromDeviceId"]))
        await self.api(wnode).sdp(b, cid, wdev, "answer", ANSWER)
        answer = await asock.wait_event(cid, "signal.answer", timeout=5)
        self.assertEqual((ANSWER, b.id, wdev), (answer["data"]["sdp"],
                                                answer["data"]["fromUserId"],
                                                answer["data"]["fromDeviceId"]))
        await self.api(wnode).ice(b, cid, wdev, CAND_B, sdpMid="0", sdpMLineIndex=0)
        ice = await asock.wait_event(cid, "signal.ice", timeout=5)
        self.assertEqual((CAND_B, "0", 0, wdev),
                         (ice["data"]["candidate"], ice["data"]["sdpMid"],
                          ice["data"]["sdpMLineIndex"], ice["data"]["fromDeviceId"]))
        await self.api("a").ice(a, cid, adev, CAND_A, sdpMid="0", sdpMLineIndex=0)
        ice = await wsock.wait_event(cid, "signal.ice", timeout=5)
        self.assertEqual(CAND_A, ice["data"]["candidate"])
        await self.api(wnode).action(b, cid, "connected", wdev)

        # Hang up on A.
        ended = (await self.api("a").action(a, cid, "end", adev)).body["call"]
        self.assertEqual(("ended", "hangup"), (ended["state"], ended["endReason"]))
        await asock.wait_event(cid, "call.ended", timeout=5, reason="hangup")
        await wsock.wait_event(cid, "call.ended", timeout=5, reason="hangup")
        for node in ("a", "b", "c"):
            self.assertEqual(ended, (await self.api(node).get_call(b, cid)).body["call"],
                             f"the ended call read on {node}")

        # Late or repeated deliveries would show up now.
        await asock.quiet(lambda e: False, 1.0)
        for sock in (asock, s1, s2):
            self.assert_seq_clean(sock, cid)
        self.assert_one_counter(cid, asock, s1, s2)
        self.assertEqual(["call.ringing", "call.accepted", "signal.answer", "signal.ice",
                          "call.ended"], names(asock.of(cid)), "the caller's events")
        # Whether the accepting device hears its own accept is not fixed.
        self.assertEqual(["call.incoming", "signal.offer", "signal.ice", "call.ended"],
                         [n for n in names(wsock.of(cid)) if n != "call.accepted"],
                         f"the winner's ({wnode}) events")
        lost_events = [n for n in names(lsock.of(cid)) if n != "call.accepted"]
        self.assertEqual(["call.incoming", "call.ended"], lost_events,
                         f"the losing device's ({lnode}) events")
        self.assertEqual("answered_elsewhere", lsock.of(cid, "call.ended")[0]["data"]["reason"])

    async def test_racing_ends_deliver_each_event_once(self):
        """Many calls at once: the callee accepts and connects on B while the
        caller ends on A at once, so A often acts on a call B changed a moment
        before (a conflict, then a late change of a call A already ended).
        Each device still gets each event once."""
        pairs = 24

        async def one(i):
            a, b = self.user(f"ra{i}-"), self.user(f"rb{i}-")
            adev, asock = await self.online("a", a)
            bdev, bsock = await self.online("b", b)
            cid = (await self.create("a", a, adev, b))["call"]["callId"]
            await bsock.wait_event(cid, "call.incoming", timeout=10)
            await self.api("b").action(b, cid, "accept", bdev)
            await asyncio.gather(self.api("b").action(b, cid, "connected", bdev, expect=None),
                                 self.api("a").action(a, cid, "end", adev))
            await asock.wait_event(cid, "call.ended", timeout=10)
            await bsock.wait_event(cid, "call.ended", timeout=10)
            return cid, asock, bsock

        done = await asyncio.gather(*(one(i) for i in range(pairs)))
        await asyncio.sleep(1.0)  # late or repeated deliveries arrive now
        for cid, asock, bsock in done:
            for sock in (asock, bsock):
                self.assert_seq_clean(sock, cid)
                self.assertEqual(1, len(sock.of(cid, "call.ended")),
                                 f"{sock.device_id}: {json.dumps(sock.of(cid))[:1500]}")
            self.assert_one_counter(cid, asock, bsock)

    async def test_end_on_one_node_revokes_allocations_on_others(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online("a", a)
        bdev, bsock = await self.online("b", b)
        created = await self.create("a", a, adev, b)
        cid = created["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming", timeout=5)
        accepted = (await self.api("b").action(b, cid, "accept", bdev)).body
        # Credentials from the create answer, and from C's credentials endpoint.
        caller_creds = created["turn"]
        callee_creds = (await self.api("c").turn_credentials(accepted["callToken"])).body
        self.assertRegex(callee_creds["username"],
                         rf"^\d+:{cid}:{participant(accepted['call'], b.id)['participantId']}$")
        rc, qc = await self.allocate("c", caller_creds)
        await self.echo(rc, qc, tag=b"via C")
        rb, qb = await self.allocate("b", callee_creds)
        await self.echo(rb, qb, tag=b"via B")
        self.assertEqual(1, len(await self.allocations_of("c", cid)),
                         "C's /admin/allocations before the end")
        self.assertEqual(1, len(await self.allocations_of("b", cid)),
                         "B's /admin/allocations before the end")

        # End on A: the allocations on C and B go within a second.
        t0 = time.monotonic()
        await self.api("a").action(a, cid, "end", adev)

        async def gone(node):
            return not await self.allocations_of(node, cid)

        # Measured from before the end was sent; polled every 50 ms, for 3 s at most.
        await self.wait_for(lambda: gone("c"), 3.0, "the allocation on C after the end on A",
                            0.05)
        took_c = time.monotonic() - t0
        await self.wait_for(lambda: gone("b"), 3.0, "the allocation on B after the end on A",
                            0.05)
        took_b = time.monotonic() - t0
        self.assertLessEqual(took_c, 1.5, f"C deleted the allocation {took_c:.2f}s after the end")
        self.assertLessEqual(took_b, 1.5, f"B deleted the allocation {took_b:.2f}s after the end")
        print(f"\n[revocation] allocation gone on C {took_c:.2f}s, on B {took_b:.2f}s after the "
              f"end on A", file=sys.stderr)
        # Nothing relayed any more, and a Refresh finds no allocation.
        for relay, q in ((rc, qc), (rb, qb)):
            self.peer.sendto(b"after the end", relay.get_extra_info("sockname"))
            relay.sendto(b"after the end", self.peer_addr)
        await asyncio.sleep(0.5)
        self.assertTrue(qc.queue.empty() and qb.queue.empty(), "relayed after the call ended")
        self.assertEqual(437, await self.refresh(rc), "a Refresh on C after the end")
        self.assertEqual(437, await self.refresh(rb), "a Refresh on B after the end")
        # The usage record on C names the call and the reason.
        self.assertTrue(any(cid in line and "call_ended" in line
                            for line in self.nodes["c"].log().splitlines()),
                        "no usage record with the callId and call_ended in C's log:\n"
                        + self.log_tail("c"))
        for node in ("a", "c"):
            await self.api(node).turn_credentials(created["callToken"],
                                                  expect=(409, "call_ended"))
        # C restarts: the same credentials are still refused there.
        await self.restart_node("c")
        for creds in (caller_creds, callee_creds):
            with self.assertRaises(stun.TransactionFailed,
                                   msg="an Allocate on the restarted C with the ended call's "
                                       "credentials") as ctx:
                await self.allocate("c", creds)
            self.assertIn(error_code(ctx.exception), (401, 403))
        await self.api("c").turn_credentials(accepted["callToken"], expect=(409, "call_ended"))

    async def test_device_of_a_killed_node_reconnects_elsewhere(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online("a", a)
        bdev, bsock = await self.online("b", b)
        cid = (await self.create("a", a, adev, b, "video"))["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming", timeout=5)
        await self.api("a").sdp(a, cid, adev, "offer", OFFER)
        await bsock.wait_event(cid, "signal.offer", timeout=5)
        await self.api("b").action(b, cid, "accept", bdev)
        await self.api("b").sdp(b, cid, bdev, "answer", ANSWER)
        await asock.wait_event(cid, "signal.answer", timeout=5)
        await self.api("b").action(b, cid, "connected", bdev)
        seen_on_b = list(bsock.of(cid))

        self.nodes["b"].kill9()
        try:
            await asyncio.wait_for(bsock.closed.wait(), 5)
        except asyncio.TimeoutError:
            self.fail("the socket on the killed node B did not close in 5s")
        # The caller signals while the device has no socket: stored, not lost.
        await self.api("a").ice(a, cid, adev, CAND_MISSED, sdpMid="0", sdpMLineIndex=0)
        await self.api("a").ice(a, cid, adev, CAND_A, sdpMid="1", sdpMLineIndex=1)
        self.assertEqual("connected", (await self.api("a").get_call(a, cid)).body["call"]["state"])

        # The device reconnects to A with the same deviceId.
        s = await self.socket("a", b, bdev)
        self.assertGreaterEqual(s.hello_ok["replayed"], 1, s.hello_ok)
        missed = await s.wait(lambda e: e.get("callId") == cid and e["event"] == "signal.ice"
                              and e["data"].get("candidate") == CAND_MISSED, 5,
                              "the signal.ice sent while B was dead")
        self.assertEqual((adev, "0", 0), (missed["data"]["fromDeviceId"], missed["data"]["sdpMid"],
                                          missed["data"]["sdpMLineIndex"]))
        await s.wait(lambda e: e.get("callId") == cid and e["event"] == "signal.ice"
                     and e["data"].get("candidate") == CAND_A, 5, "the second signal.ice")
        self.assertGreater(missed["seq"], max(e["seq"] for e in seen_on_b))
        await asyncio.sleep(0.3)
        self.assertEqual(s.hello_ok["replayed"], len(s.events),
                         f"hello.ok counted {s.hello_ok['replayed']}, got "
                         f"{json.dumps(names(s.events))}")
        # What B had delivered comes again with its original seq.
        replayed = {e["seq"]: e for e in s.of(cid)}
        for e in seen_on_b:
            if e["seq"] in replayed:
                self.assertEqual((e["event"], e["data"]),
                                 (replayed[e["seq"]]["event"], replayed[e["seq"]]["data"]))
        self.assert_seq_clean(s, cid)
        self.assert_one_counter(cid, asock, bsock, s)

        # The call goes on through A.
        await self.api("a").ice(b, cid, bdev, CAND_B, sdpMid="0", sdpMLineIndex=0)
        got = await asock.wait(lambda e: e.get("callId") == cid and e["event"] == "signal.ice"
                               and e["data"].get("candidate") == CAND_B, 5,
                               "signal.ice from the reconnected device")
        self.assertEqual(bdev, got["data"]["fromDeviceId"])
        r = await self.api("a").action(a, cid, "end", adev)
        self.assertEqual("hangup", r.body["call"]["endReason"])
        await s.wait_event(cid, "call.ended", timeout=5, reason="hangup")
        await asock.wait_event(cid, "call.ended", timeout=5, reason="hangup")
        await asock.quiet(lambda e: False, 0.5)
        self.assertEqual(1, len(s.of(cid, "call.ended")))
        self.assertEqual(1, len(asock.of(cid, "call.ended")))
        self.assert_seq_clean(asock, cid)
        self.assert_seq_clean(s, cid)

    async def test_drained_node_leaves_the_uris_and_region_comes_first(self):
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online("a", a)
        bdev, bsock = await self.online("b", b)
        created = await self.create("a", a, adev, b)
        cid = created["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming", timeout=5)
        accepted = (await self.api("b").action(b, cid, "accept", bdev)).body
        token = created["callToken"]
        uris = {n: node_uris(self.nodes[n]) for n in self.nodes}
        every = set(uris["a"]) | set(uris["b"]) | set(uris["c"])

        async def handed_out(node="a", region=None):
            body = {"region": region} if region is not None else None
            r = await self.api(node).request("POST", "/v1/turn/credentials", token, body,
                                             expect=200)
            return r.body["uris"]

        # Every healthy node's URIs, once each.
        got = await handed_out()
        self.assertEqual(len(got), len(set(got)), f"a URI twice: {got}")
        self.assertEqual(every, set(got), f"URIs of nodes a, b, c: {uris}")
        # B holds an allocation, so the drain does not end it at once.
        relay, q = await self.allocate("b", accepted["turn"])
        await self.echo(relay, q, 1, tag=b"before the drain")

        status, body, text = await self.admin("b", "POST", "/admin/drain")
        self.assertEqual(202, status, text)
        self.nodes["b"].dirty = True  # restarted before the next test

        def b_gone(node):
            async def probe():
                got = await handed_out(node)
                return got if not set(got) & set(uris["b"]) else None
            return probe

        # Measured from the drain's answer; every node stops handing B out.
        for node in ("a", "c"):
            got, took = await self.wait_for(
                b_gone(node), 5.0, f"B's URIs out of /v1/turn/credentials on {node}", 0.2)
            self.assertEqual(set(uris["a"]) | set(uris["c"]), set(got),
                             f"after B's drain ({took:.1f}s), asked on {node}: {got}")
            print(f"\n[drain] B's URIs gone from {node}'s answers {took:.1f}s after the drain",
                  file=sys.stderr)
        self.assertTrue(self.nodes["b"].alive(), "B exited while it held an allocation")
        await self.echo(relay, q, 1, tag=b"while draining")
        # Asked for region us: C's URIs first, then A's (B drains).
        for node in ("a", "c"):
            got = await handed_out(node, "us")
            self.assertEqual(set(uris["a"]) | set(uris["c"]), set(got), f"asked on {node}")
            last_c = max(got.index(u) for u in uris["c"])
            first_a = min(got.index(u) for u in uris["a"])
            self.assertLess(last_c, first_a, f"region us asked on {node}: C's URIs {uris['c']} "
                                             f"should come before A's {uris['a']}: {got}")
            got = await handed_out(node, "eu")
            last_a = max(got.index(u) for u in uris["a"])
            first_c = min(got.index(u) for u in uris["c"])
            self.assertLess(last_a, first_c, f"region eu asked on {node}: {got}")
        await self.api("a").action(a, cid, "end", adev)

    async def test_device_on_a_just_started_node_rings(self):
        """A node that just started is reachable at once through the store:
        its devices' presence is in Redis as soon as they said hello."""
        # C leaves cleanly (and out of tp:nodes); A has re-read tp:nodes
        # since, so it only knows C again from C's new announcement.
        type(self).formed = False
        self.nodes["c"].stop()
        await asyncio.sleep(1.5)
        self.nodes["c"].start()
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online("a", a)
        bdev, bsock = await self.online("c", b)
        r = await self.api("a").create(a, adev, b.id)
        call = r.body["call"]
        self.assertNotEqual("ended", call["state"],
                            f"POST /v1/calls on A right after C started, the callee's only device "
                            f"connected to C (hello.ok received): {call}")
        await bsock.wait_event(call["callId"], "call.incoming", timeout=5)
        await self.api("c").action(b, call["callId"], "decline", bdev)

    async def test_keys_under_the_prefix(self):
        a, b = self.user("a"), self.user("b")
        adev, _ = await self.online("a", a)
        bdev, bsock = await self.online("c", b)
        cid = (await self.create("a", a, adev, b))["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming", timeout=5)
        keys = self.redis.keys()
        self.assertTrue(any(cid in k for k in keys), f"no key names the call: {keys[:50]}")
        stream = "turnpike:usage"  # store.redis.stream: usage records, not the call store
        stray = [k for k in keys if not k.startswith("tp:") and k != stream]
        self.assertEqual([], stray, "keys outside the tp: prefix")
        await self.api("c").action(b, cid, "decline", bdev)


class RedisOutageTest(NodeChecks, NodesTestCase):
    """redis-server stops for 5 s while a call rings (ring_timeout 6s) and a
    TURN allocation relays; the append-only file keeps the data."""

    NODES = (("a", "eu"), ("b", "eu"))
    NODE_CONFIG = {"calls": {"ring_timeout": "6s"}}
    REDIS_PERSISTENT = True

    def check_unavailable(self, r, what):
        self.assertEqual(503, r.status, f"{what} with Redis down: {r!r}")
        retry = next((v for k, v in r.headers.items() if k.lower() == "retry-after"), None)
        self.assertIsNotNone(retry, f"{what}: 503 without Retry-After: {r.headers}")
        self.assertRegex(retry, r"^\d+$", f"{what}: Retry-After {retry!r}")
        ctype = next((v for k, v in r.headers.items() if k.lower() == "content-type"), "")
        self.assertIn("application/json", ctype, f"{what}: 503 content-type")
        self.assertIsInstance(r.body, dict, f"{what}: 503 body {r.text!r}")
        self.assertIsInstance(r.body.get("error"), dict, f"{what}: 503 body {r.text!r}")
        self.assertIsInstance(r.body["error"].get("code"), str, f"{what}: {r.text!r}")
        self.assertIsInstance(r.body["error"].get("message"), str, f"{what}: {r.text!r}")
        with self.subTest(openapi=what):
            OpenApi.get().check_response(r.method, r.path, r.status, r.headers, r.text)

    async def test_redis_down_while_ringing(self):
        # A live call with an allocation on A.
        x, y = self.user("x"), self.user("y")
        xdev, _ = await self.online("a", x)
        ydev, ysock = await self.online("b", y)
        live = await self.create("a", x, xdev, y)
        live_id = live["call"]["callId"]
        await ysock.wait_event(live_id, "call.incoming", timeout=5)
        await self.api("b").action(y, live_id, "accept", ydev)
        relay, q = await self.allocate("a", live["turn"])
        await self.echo(relay, q, 1, tag=b"before")

        # A ringing call: caller on A, callee on B.
        a, b = self.user("a"), self.user("b")
        adev, asock = await self.online("a", a)
        bdev, bsock = await self.online("b", b)
        cid = (await self.create("a", a, adev, b))["call"]["callId"]
        await bsock.wait_event(cid, "call.incoming", timeout=5)
        await asock.wait_event(cid, "call.ringing", timeout=5)

        self.redis.stop()
        t_down = time.monotonic()
        # The allocation made before keeps relaying.
        await self.echo(relay, q, 3, tag=b"redis down")
        # The API answers 503, Retry-After, a JSON error; in bounded time.
        z = self.user("z")
        for node, label, call in (
                ("a", "POST /v1/calls",
                 lambda api: api.request("POST", "/v1/calls", a.token,
                                         {"deviceId": adev, "callees": [z.id], "type": "audio"},
                                         validate=False)),
                ("b", "POST /v1/devices/register",
                 lambda api: api.request("POST", "/v1/devices/register", z.token,
                                         {"deviceId": "z1", "platform": "ios"}, validate=False)),
                ("b", "GET /v1/calls/{id}",
                 lambda api: api.request("GET", f"/v1/calls/{cid}", b.token, validate=False))):
            t0 = time.monotonic()
            r = await asyncio.wait_for(call(self.api(node)), 5)
            self.check_unavailable(r, f"{label} on {node}")
            self.assertLess(time.monotonic() - t0, 3.0, f"{label} on {node}: slow 503")
        await self.echo(relay, q, 1, tag=b"still down")
        self.assertFalse(asock.closed.is_set(), "the caller's socket on A closed with Redis down")
        self.assertEqual([], asock.of(cid, "call.timeout") + asock.of(cid, "call.ended"),
                         "the ring timer fired with Redis down")

        await asyncio.sleep(max(0.0, 5.0 - (time.monotonic() - t_down)))
        self.redis.start()
        t_up = time.monotonic()

        # The API recovers by itself.
        async def recovered(node):
            r = await self.api(node).request("GET", f"/v1/calls/{live_id}", x.token,
                                             validate=False)
            return r.status == 200
        _, took_a = await self.wait_for(lambda: recovered("a"), 10.0, "node a's API after Redis",
                                        0.2)
        _, took_b = await self.wait_for(lambda: recovered("b"), 10.0, "node b's API after Redis",
                                        0.2)
        await self.api("b").register(z, "z1")

        # The ring timer fires once: one call.timeout and one call.ended.
        timeout = await asock.wait_event(cid, "call.timeout", timeout=20, reason="ring_timeout")
        ended = await asock.wait_event(cid, "call.ended", timeout=5, reason="ring_timeout")
        self.assertLess(timeout["seq"], ended["seq"])
        await bsock.wait_event(cid, "call.ended", timeout=5, reason="ring_timeout")
        created_at = (await self.api("a").get_call(a, cid)).body["call"]["createdAt"]
        fired_after = wall(timeout["at"]) - wall(created_at)
        self.assertGreaterEqual(fired_after, 5.5, f"the ring timer fired early: created "
                                                  f"{created_at}, call.timeout at {timeout['at']}")
        await asock.quiet(lambda e: False, 2.0)
        self.assertFalse(asock.closed.is_set(), "the caller's socket on A closed")
        self.assertEqual(1, len(asock.of(cid, "call.timeout")),
                         f"call.timeout on the caller: {json.dumps(asock.of(cid))}")
        self.assertEqual(1, len(asock.of(cid, "call.ended")),
                         f"call.ended on the caller: {json.dumps(asock.of(cid))}")
        self.assertEqual(1, len(bsock.of(cid, "call.ended")),
                         f"call.ended on the callee: {json.dumps(bsock.of(cid))}")
        self.assert_seq_clean(asock, cid)
        self.assert_seq_clean(bsock, cid)
        self.assert_one_counter(cid, asock, bsock)
        for node, user in (("a", a), ("b", b)):
            call = (await self.api(node).get_call(user, cid)).body["call"]
            self.assertEqual(("ended", "ring_timeout"), (call["state"], call["endReason"]),
                             f"GET on {node}")
        # The live call outlived the outage, and its allocation still relays.
        self.assertEqual("connecting",
                         (await self.api("b").get_call(y, live_id)).body["call"]["state"])
        await self.echo(relay, q, 1, tag=b"after")
        await self.api("a").action(x, live_id, "end", xdev)
        print(f"\n[redis outage] API back {took_a:.1f}s (a) / {took_b:.1f}s (b) after the "
              f"restart; ring timer fired {fired_after:.1f}s after create "
              f"({time.monotonic() - t_up:.1f}s ago)", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
