#!/usr/bin/python3
"""An independent TURN client for Turnpike's interop tests: aioice (Debian's
python3-aioice) allocates over UDP, TCP or TLS, binds a channel and exchanges
data with a UDP echo peer it runs itself, then deletes the allocation.

usage: aioice_client.py HOST PORT USERNAME PASSWORD COUNT [udp|tcp|tls] [CAFILE] [INTERVAL]
With tls, the server certificate is checked against CAFILE (trusted
explicitly, never switched off). INTERVAL: seconds between messages.
prints "ok COUNT" and exits 0 when every echo came back intact."""

import asyncio
import ssl
import sys

from aioice import turn


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


async def main(host, port, username, password, count, transport, cafile, interval):
    loop = asyncio.get_running_loop()
    peer, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    peer_addr = peer.get_extra_info("sockname")
    tls = False
    if transport == "tls":
        tls = ssl.create_default_context(cafile=cafile)
        tls.set_alpn_protocols(["stun.turn"])
    relay, receiver = await asyncio.wait_for(
        turn.create_turn_endpoint(Receiver, server_addr=(host, port),
                                  username=username, password=password,
                                  transport="udp" if transport == "udp" else "tcp",
                                  ssl=tls), 10)
    print("relayed", relay.get_extra_info("sockname"), flush=True)
    for i in range(count):
        message = b"aioice message %d" % i
        relay.sendto(message, peer_addr)
        data, addr = await asyncio.wait_for(receiver.queue.get(), 3)
        if data != message or tuple(addr) != tuple(peer_addr):
            print("message %d came back as %r from %r" % (i, data, addr), file=sys.stderr)
            return 1
        if interval > 0:
            await asyncio.sleep(interval)
    relay.close()  # Refresh with LIFETIME 0
    await asyncio.sleep(0.3)
    peer.close()
    print("ok", count, flush=True)
    return 0


if __name__ == "__main__":
    host, port, username, password, count = sys.argv[1:6]
    transport = sys.argv[6] if len(sys.argv) > 6 else "udp"
    cafile = sys.argv[7] if len(sys.argv) > 7 else None
    interval = float(sys.argv[8]) if len(sys.argv) > 8 else 0.0
    sys.exit(asyncio.run(main(host, int(port), username, password, int(count), transport,
                              cafile, interval)))
