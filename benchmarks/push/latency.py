"""POST /v1/calls -> the VoIP invite arriving at the local APNs fake, through the
real binary: one caller and callee per call (the create rate limit is per
user), calls one after another; prints p50/p90/p99 in ms. Both clocks are this
process's time.monotonic(): the fake runs in a thread here."""

import argparse
import asyncio
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "calls"))

import unittest  # noqa: E402

import test_push  # noqa: E402


class Latency(test_push.PushTestCase):
    CALLS = 200

    async def test_latency(self):
        samples = []
        for i in range(self.CALLS):
            a, b = self.user("a"), self.user("b")
            adev = await self.device(a)
            voip = test_push.token("voip")
            await self.ios(b, voip=voip)
            t0 = time.monotonic()
            await self.api.create(a, adev, b.id)
            [push] = await self.wait_pushes(voip, timeout=5)
            samples.append((push.at - t0) * 1000)
        samples.sort()

        def pct(p):
            return samples[min(len(samples) - 1, int(p / 100 * len(samples)))]

        print(f"POST /v1/calls -> VoIP push at the fake, {len(samples)} calls: "
              f"p50 {pct(50):.2f} ms, p90 {pct(90):.2f} ms, p99 {pct(99):.2f} ms, "
              f"max {samples[-1]:.2f} ms", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    Latency.CALLS = max(1, min(args.calls, 5000))
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Latency)
    result = unittest.TextTestRunner(verbosity=0).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
