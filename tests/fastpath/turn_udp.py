"""A small TURN-over-UDP client for the fast path tests (RFC 8489/8656):
long-term credentials with TURN REST usernames, Allocate (IPv4 or IPv6
relayed addresses, RFC 8656 §7.1 REQUESTED-ADDRESS-FAMILY), ChannelBind,
Refresh, and raw datagrams from the same five-tuple (well-formed ChannelData
and not), so a test can tell what the relay does with each."""
import base64
import hashlib
import hmac
import os
import socket
import struct
import time

MAGIC = 0x2112A442
ALLOCATE, REFRESH, CHANNEL_BIND = 0x0003, 0x0004, 0x0009
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE = 0x0006, 0x0008, 0x0009
CHANNEL_NUMBER, LIFETIME, XOR_PEER_ADDRESS = 0x000C, 0x000D, 0x0012
REALM, NONCE, XOR_RELAYED_ADDRESS, REQUESTED_TRANSPORT = 0x0014, 0x0015, 0x0016, 0x0019
REQUESTED_ADDRESS_FAMILY = 0x0017


def rest_credentials(secret, user, ttl=3600):
    username = f"{int(time.time()) + ttl}:{user}"
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode()


def attribute(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def xor_address(ip, port, tid):
    """XOR-*-ADDRESS (RFC 8489 §14.2): IPv6 is XORed with the cookie and `tid`."""
    v6 = ":" in ip
    raw = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, ip)
    mask = struct.pack("!I", MAGIC) + tid
    return struct.pack("!BBH", 0, 2 if v6 else 1, port ^ (MAGIC >> 16)) + bytes(
        a ^ b for a, b in zip(raw, mask))


def unxor_address(value, tid):
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC >> 16)
    v6 = value[1] == 2
    raw = bytes(a ^ b for a, b in zip(value[4:20 if v6 else 8], struct.pack("!I", MAGIC) + tid))
    return socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, raw), port


def message(kind, tid, attributes, key=None):
    body = b"".join(attribute(k, v) for k, v in attributes)
    if key is not None:  # MESSAGE-INTEGRITY over a header that already counts it
        header = struct.pack("!HHI12s", kind, len(body) + 24, MAGIC, tid)
        body += attribute(MESSAGE_INTEGRITY, hmac.new(key, header + body, hashlib.sha1).digest())
    return struct.pack("!HHI12s", kind, len(body), MAGIC, tid) + body


def parse(data):
    """(type, transaction id, {attribute: value}) or None for non-STUN."""
    if len(data) < 20:
        return None
    kind, length, magic, tid = struct.unpack("!HHI12s", data[:20])
    if magic != MAGIC or 20 + length > len(data):
        return None
    attributes, i = {}, 20
    while i + 4 <= 20 + length:
        k, n = struct.unpack("!HH", data[i:i + 4])
        attributes.setdefault(k, data[i + 4:i + 4 + n])
        i += 4 + n + (-n % 4)
    return kind, tid, attributes


def channel_data(channel, payload, length=None):
    return struct.pack("!HH", channel, len(payload) if length is None else length) + payload


class TurnError(Exception):
    pass


class Client:
    """One client socket (`sock`, already bound) talking to `server`."""

    def __init__(self, sock, server, username, password):
        self.sock, self.server = sock, server
        self.username, self.password = username, password
        self.realm = self.nonce = self.key = None
        self.relayed = None

    def _exchange(self, kind, attributes, timeout=3.0):
        """`attributes` is a list, or a function of the transaction id
        (XOR addresses of IPv6 need it)."""
        tid = os.urandom(12)
        if callable(attributes):
            attributes = attributes(tid)
        extra = []
        if self.key is not None:
            extra = [(USERNAME, self.username.encode()), (REALM, self.realm),
                     (NONCE, self.nonce)]
        self.sock.sendto(message(kind, tid, attributes + extra, self.key), self.server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                break
            parsed = parse(data)
            if parsed and parsed[1] == tid:
                return parsed[0], {**parsed[2], "tid": tid}  # the id: for XOR addresses
        raise TurnError(f"no answer to 0x{kind:04x}")

    def request(self, kind, attributes):
        """An authenticated request; retried once on 401/438 with the new nonce."""
        for _ in range(2):
            answer, attrs = self._exchange(kind, attributes)
            if answer == kind | 0x0100:
                return attrs
            code = attrs.get(ERROR_CODE, b"\0\0\0\0")
            code = code[2] * 100 + code[3]
            if code in (401, 438) and NONCE in attrs:
                self.nonce = attrs[NONCE]
                self.realm = attrs.get(REALM, self.realm)
                self.key = hashlib.md5(
                    f"{self.username}:{self.realm.decode()}:{self.password}".encode()).digest()
                continue
            raise TurnError(f"0x{kind:04x} answered {code}")
        raise TurnError(f"0x{kind:04x}: authentication failed")

    def allocate(self, ipv6=False):
        """The relayed address, IPv6 when asked (else the server's default, IPv4)."""
        attributes = [(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))]
        if ipv6:
            attributes.append((REQUESTED_ADDRESS_FAMILY, bytes([2, 0, 0, 0])))
        attrs = self.request(ALLOCATE, attributes)
        self.relayed = unxor_address(attrs[XOR_RELAYED_ADDRESS], attrs["tid"])
        return self.relayed

    def channel_bind(self, channel, peer):
        self.request(CHANNEL_BIND, lambda tid: [
            (CHANNEL_NUMBER, struct.pack("!HH", channel, 0)),
            (XOR_PEER_ADDRESS, xor_address(peer[0], peer[1], tid))])

    def refresh(self, lifetime):
        self.request(REFRESH, [(LIFETIME, struct.pack("!I", lifetime))])

    def send_raw(self, data):
        self.sock.sendto(data, self.server)
