"""Flow-control peers for apps/examples/echo.toml (pyzmq + stdlib).

    bridge_flow_peer.py oversize IN OUT METRICS_URL
        One 256 MiB frame into `in` (max_message_bytes = 65536): ZeroMQ must
        drop the connection before the frame is in memory. Then a new
        connection's normal message must still come back on `out`.
    bridge_flow_peer.py stall IN OUT METRICS_URL CHUNKS PER_CHUNK
        One SUB on `out` that subscribes to echo.reply and never reads, one
        that reads; CHUNKS x PER_CHUNK messages of 200 B PUSHed into `in`,
        each chunk after the reading SUB has all of the one before. The
        reading SUB must get every message exactly once and heartbeats after
        the stall began.

Prints "ok ..." per check, "FAIL ..." and exits 1 on the first failure.
Waits are generous and only bound how long a failure takes to show.
"""
import json
import re
import sys
import time
import urllib.request

import zmq

MODE, IN, OUT, METRICS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ctx = zmq.Context()


def check(what, cond, detail=""):
    if not cond:
        print(f"FAIL {what} {detail}", flush=True)
        sys.exit(1)
    print(f"ok {what} {detail}".rstrip(), flush=True)


def metric(name, **labels):
    """The sum of NAME's samples whose labels include LABELS."""
    with urllib.request.urlopen(METRICS, timeout=10) as r:
        text = r.read().decode()
    total, found = 0.0, False
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)\{(.*)\} (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'([a-z_]+)="([^"]*)"', m.group(2)))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
            found = True
    return total if found else None


def wait_for(what, cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    check(what, False, f"(not within {timeout} s)")


def live_sub(topics):
    s = ctx.socket(zmq.SUB)
    s.RCVHWM = 0  # the reading side never drops on its own
    for t in topics:
        s.setsockopt(zmq.SUBSCRIBE, t)
    s.connect(OUT)
    return s


def await_heartbeat(sub):
    """Returns once a heartbeat arrived: our subscriptions are in place."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sub.poll(100) and sub.recv_multipart()[0] == b"troupe.heartbeat":
            return
    check("a heartbeat reaches the reading SUB", False)


def oversize():
    sub = live_sub([b"echo.reply", b"troupe.heartbeat"])
    await_heartbeat(sub)
    big = ctx.socket(zmq.PUSH)
    big.connect(IN)
    frame = bytearray(256 << 20)
    big.send_multipart([b"echo.request", frame], copy=False)
    del frame
    n = wait_for("the bridge counts a disconnect on `in`",
                 lambda: metric("troupe_bridge_peer_disconnects_total",
                                endpoint="in"))
    check("peer disconnects on `in` after the 256 MiB frame", n >= 1,
          f"({n:.0f})")
    big.close(linger=0)
    push = ctx.socket(zmq.PUSH)
    push.connect(IN)
    push.send_multipart([b"echo.request", b'{"after": "oversize"}'])
    deadline = time.monotonic() + 30
    got = None
    while time.monotonic() < deadline and got is None:
        if sub.poll(100):
            topic, payload = sub.recv_multipart()[:2]
            if topic == b"echo.reply":
                got = payload
    check("a new connection is still echoed", got == b'{"after": "oversize"}',
          f"({got!r})")
    check("in.received counts just that message",
          metric("troupe_bridge_received_total", endpoint="in") == 1)
    too_large = metric("troupe_bridge_malformed_total", endpoint="in",
                       reason="too_large")
    check("the frame never reached the bridge (too_large stays 0)",
          too_large == 0, f"({too_large})")


def stall(chunks, per_chunk):
    stalled = ctx.socket(zmq.SUB)
    stalled.setsockopt(zmq.SUBSCRIBE, b"echo.reply")
    stalled.connect(OUT)  # never read
    sub = live_sub([b"echo.reply", b"troupe.heartbeat"])
    await_heartbeat(sub)
    push = ctx.socket(zmq.PUSH)
    push.connect(IN)
    pad = "x" * 180
    seen = set()
    dups = 0
    beats = 0
    beats_at_stall = None

    def read(until_count, timeout=120):
        nonlocal dups, beats
        deadline = time.monotonic() + timeout
        while len(seen) < until_count and time.monotonic() < deadline:
            if not sub.poll(100):
                continue
            while True:
                try:
                    frames = sub.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if frames[0] == b"troupe.heartbeat":
                    beats += 1
                    continue
                i = json.loads(frames[1])["i"]
                if i in seen:
                    dups += 1
                seen.add(i)
        return len(seen) >= until_count

    sent = 0
    for c in range(chunks):
        for _ in range(per_chunk):
            push.send_multipart([b"echo.request",
                                 json.dumps({"i": sent, "pad": pad}).encode()])
            sent += 1
        if not read(sent):
            check(f"chunk {c}: the reading SUB gets it all", False,
                  f"({len(seen)} of {sent})")
        if beats_at_stall is None and (metric(
                "troupe_bridge_dropped_total", endpoint="out",
                reason="slow_subscriber") or 0) > 0:
            beats_at_stall = beats
            print(f"stall seen after chunk {c} ({sent} messages, "
                  f"{beats} heartbeats so far)", flush=True)
    check("the reading SUB got every message", len(seen) == sent,
          f"({len(seen)} of {sent})")
    check("... exactly once", dups == 0, f"({dups} duplicates)")
    check("the stalled SUB made the bridge drop for it (slow_subscriber)",
          beats_at_stall is not None)
    # Heartbeats keep flowing past the stalled subscriber.
    deadline = time.monotonic() + 30
    while beats < beats_at_stall + 2 and time.monotonic() < deadline:
        read(len(seen) + 1, timeout=0.5)
    check("heartbeats reach the reading SUB after the stall began",
          beats >= beats_at_stall + 2, f"({beats - beats_at_stall})")
    slow = metric("troupe_bridge_dropped_total", endpoint="out",
                  reason="slow_subscriber")
    check("slow_subscriber drops in /metrics", slow > 0, f"({slow:.0f})")
    queued = metric("troupe_bridge_queued", endpoint="out")
    check("nothing left queued on `out`", queued == 0, f"({queued})")
    print(json.dumps({"sent": sent, "received": len(seen),
                      "slow_subscriber": slow}), flush=True)


if MODE == "oversize":
    oversize()
elif MODE == "stall":
    stall(int(sys.argv[5]), int(sys.argv[6]))
else:
    sys.exit(f"unknown mode {MODE}")
