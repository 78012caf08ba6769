#!/usr/bin/python3
"""The systemd notify protocol, as the unit uses it, against a real process.

Runs BINARY (default: the installed /usr/bin/turnpike) as the `turnpike` user
with only CAP_NET_BIND_SERVICE (setpriv, as the unit's User= and
AmbientCapabilities= do), listening for TLS on 127.0.0.1:443, with
NOTIFY_SOCKET pointing at a datagram socket of this test and WATCHDOG_USEC
set. Checks, in order: READY=1; WATCHDOG=1 keeps coming; SIGHUP gives
RELOADING=1 then READY=1; SIGTERM gives STOPPING=1 and exit 0. Also: the
process holds no capability but net_bind_service, /livez answers, and with
JOURNAL_STREAM naming its stderr the log lines carry "<N>" priorities and no
time stamps.

Usage: notify_test.py [BINARY] [USER]    (as root; exit 77 = skipped)
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BINARY = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/turnpike"
USER = sys.argv[2] if len(sys.argv) > 2 else "turnpike"
CAP_NET_BIND_SERVICE = 1 << 10


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def fail(why, log=""):
    print(f"FAIL: {why}")
    if log:
        print("--- turnpike's log ---\n" + log)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Notifications:
    """The datagrams turnpike sends to NOTIFY_SOCKET, in order."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)  # the service user must be able to send
        self.seen = []

    def wait_for(self, wanted, seconds):
        """Reads until a message has the line `wanted`; returns the messages read."""
        deadline = time.monotonic() + seconds
        read = []
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            read.append(data)
            self.seen.append(data)
            if wanted in data.split("\n"):
                return read
        return None


def main():
    if os.geteuid() != 0:
        skip("needs root to switch to the service user with setpriv")
    if not os.path.exists(BINARY):
        skip(f"{BINARY} is not installed")
    try:
        account = pwd.getpwnam(USER)
    except KeyError:
        skip(f"no user {USER}")
    if not shutil.which("setpriv"):
        skip("setpriv (util-linux) is missing")
    if not port_free(443):
        skip("127.0.0.1:443 is taken on this machine")

    work = tempfile.mkdtemp(prefix="turnpike-notify-")
    os.chmod(work, 0o755)
    control = free_port()
    config = os.path.join(work, "turnpike.yaml")
    with open(config, "w") as f:
        f.write(f"""listen:
  udp: ["127.0.0.1:0"]
  tcp: ["127.0.0.1:0"]
  tls: ["127.0.0.1:443"]
relay:
  ports: {{min: 40000, max: 40100}}
metrics:
  listen: "127.0.0.1:{free_port()}"
control:
  listen: "127.0.0.1:{control}"
api:
  listen: []
""")
    os.chmod(config, 0o644)
    notifications = Notifications(os.path.join(work, "notify"))
    # stderr into a file whose device:inode goes in JOURNAL_STREAM, as
    # systemd does with the journal's stream socket.
    log_path = os.path.join(work, "stderr")
    log = open(log_path, "w")
    st = os.fstat(log.fileno())
    env = {
        "PATH": "/usr/bin:/bin",
        "NOTIFY_SOCKET": notifications.sock.getsockname(),
        "WATCHDOG_USEC": "1000000",
        "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
    }
    command = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
               "--init-groups", "--inh-caps=-all,+net_bind_service",
               "--ambient-caps=-all,+net_bind_service", "--bounding-set=-all,+net_bind_service",
               "--no-new-privs", "--", BINARY, "--config", config]
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=work)
    text = lambda: open(log_path).read()
    try:
        if notifications.wait_for("READY=1", 20) is None:
            fail("no READY=1 within 20 s", text())
        status = open(f"/proc/{proc.pid}/status").read()
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        cap_eff = int(re.search(r"^CapEff:\s+([0-9a-f]+)", status, re.M).group(1), 16)
        cap_bnd = int(re.search(r"^CapBnd:\s+([0-9a-f]+)", status, re.M).group(1), 16)
        if uid != account.pw_uid:
            fail(f"runs as uid {uid}, not {USER}")
        if cap_eff != CAP_NET_BIND_SERVICE or cap_bnd != CAP_NET_BIND_SERVICE:
            fail(f"capabilities effective {cap_eff:#x}, bounding {cap_bnd:#x}: "
                 "want net_bind_service only")
        with socket.create_connection(("127.0.0.1", 443), timeout=5):
            pass  # bound 443 without root
        with urllib.request.urlopen(f"http://127.0.0.1:{control}/livez", timeout=5) as r:
            if r.status != 200 or json.load(r).get("live") is not True:
                fail("/livez did not answer 200 {live: true}")
        watchdogs = 0
        deadline = time.monotonic() + 5
        while watchdogs < 3 and time.monotonic() < deadline:
            if notifications.wait_for("WATCHDOG=1", 2) is not None:
                watchdogs += 1
        if watchdogs < 3:
            fail(f"{watchdogs} WATCHDOG=1 in 5 s with WATCHDOG_USEC=1s (want one every 0.5 s)")

        proc.send_signal(signal.SIGHUP)
        read = notifications.wait_for("RELOADING=1", 10)
        if read is None:
            fail("no RELOADING=1 after SIGHUP", text())
        if not any("MONOTONIC_USEC=" in m for m in read):
            fail("RELOADING=1 without MONOTONIC_USEC")
        if notifications.wait_for("READY=1", 10) is None:
            fail("no READY=1 after the reload", text())

        proc.send_signal(signal.SIGTERM)
        if notifications.wait_for("STOPPING=1", 10) is None:
            fail("no STOPPING=1 after SIGTERM", text())
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            fail("still running 20 s after SIGTERM with nothing to drain", text())
        if code != 0:
            fail(f"exit status {code} after SIGTERM", text())
        lines = [l for l in text().splitlines() if l.strip()]
        stamped = [l for l in lines if re.match(r"\d{4}-\d\d-\d\dT", l)]
        unprefixed = [l for l in lines if not re.match(r"<[0-7]>", l)]
        if stamped or unprefixed:
            fail("with JOURNAL_STREAM set, lines must carry <N> and no time: "
                 f"{(stamped + unprefixed)[:3]}", text())
        for needed in ("file descriptors:", "relay address", "listening on tls 127.0.0.1:443"):
            if needed not in text():
                fail(f"the log does not say {needed!r}", text())
        print(f"ok: READY, {watchdogs}+ WATCHDOG, RELOADING/READY, STOPPING, exit 0; "
              f"uid {USER}, CapEff={cap_eff:#x}, bound 443; {len(lines)} journal-style lines")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
