#!/usr/bin/python3
"""An independent TURN client for Turnpike's interop tests: aioice (Debian's
python3-aioice) allocates over UDP, binds a channel and exchanges data with a
UDP echo peer it runs itself, then deletes the allocation.

usage: aioice_client.py HOST PORT USERNAME PASSWORD COUNT
prints "ok COUNT" and exits 0 when every echo came back intact."""

import asyncio
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


async def main(host, port, username, password, count):
    loop = asyncio.get_running_loop()
    peer, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    peer_addr = peer.get_extra_info("sockname")
    relay, receiver = await asyncio.wait_for(
        turn.create_turn_endpoint(Receiver, server_addr=(host, port),
                                  username=username, password=password), 10)
    print("relayed", relay.get_extra_info("sockname"), flush=True)
    for i in range(count):
        message = b"aioice message %d" % i
        relay.sendto(message, peer_addr)
        data, addr = await asyncio.wait_for(receiver.queue.get(), 3)
        if data != message or tuple(addr) != tuple(peer_addr):
            print("message %d came back as %r from %r" % (i, data, addr), file=sys.stderr)
            return 1
    relay.close()  # Refresh with LIFETIME 0
    await asyncio.sleep(0.3)
    peer.close()
    print("ok", count, flush=True)
    return 0


if __name__ == "__main__":
    host, port, username, password, count = sys.argv[1:6]
    sys.exit(asyncio.run(main(host, int(port), username, password, int(count))))
