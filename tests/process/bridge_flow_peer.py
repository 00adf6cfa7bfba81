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
    bridge_flow_peer.py no_reader IN OUT METRICS_URL PID N LIMIT_KB
        `out` is a PUSH endpoint with no PULL: N messages of 200 B are
        pushed into `in` as fast as the app takes them (never blocking: a
        full pipe is waited on with poll) until the app holds the sender
        back; the troupe process PID's RSS is sampled meanwhile and must
        stay below LIMIT_KB. Then a PULL on `out` must get every one of the
        N exactly once, with nothing dropped or lost in /metrics.

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


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def no_reader(pid, n, limit_kb):
    push = ctx.socket(zmq.PUSH)
    push.connect(IN)
    pad = "x" * 180

    def message(i):
        return [b"echo.request", json.dumps({"i": i, "pad": pad}).encode()]

    sent = 0

    def send_some(budget):
        """Sends until N are sent, ZMQ would block or BUDGET were sent."""
        nonlocal sent
        k = 0
        while sent < n and k < budget:
            try:
                push.send_multipart(message(sent), zmq.NOBLOCK)
            except zmq.Again:
                return False
            sent += 1
            k += 1
        return True

    # Phase 1: nobody reads `out`. Push until the sender makes no progress
    # for STILL seconds (held back through the bridge's credit, the echo
    # service's publish window and ZMQ's pipes) or all N are in. A stall
    # is what we wait for, not what we assert: only the counts below are.
    STILL = 10
    peak = rss_kb(pid)
    last_progress, last_sent = time.monotonic(), 0
    while sent < n and time.monotonic() - last_progress < STILL:
        if not send_some(1000):
            push.poll(100, zmq.POLLOUT)
        if sent != last_sent:
            last_progress, last_sent = time.monotonic(), sent
        peak = max(peak, rss_kb(pid))
    print(f"no reader: {sent} of {n} pushed before the sender was held back",
          flush=True)
    # Sample the RSS a few times while the sender stays blocked, trying to
    # send more between samples.
    samples = []
    for _ in range(10):
        send_some(1000)
        samples.append(rss_kb(pid))
        time.sleep(0.3)
    peak = max([peak] + samples)
    print(f"RSS samples while held back (kB): {samples}", flush=True)
    check("RSS stays bounded while nobody reads", 0 < peak < limit_kb,
          f"(peak sample {peak} kB < {limit_kb} kB)")
    blocked_at = sent
    queued = metric("troupe_bridge_queued", endpoint="out")
    dropped = metric("troupe_bridge_dropped_total") or 0
    lost = metric("troupe_service_messages_lost_total", service="echo") or 0
    held = metric("troupe_service_held_back_total", service="echo")
    print(f"at the stall: {sent} pushed, in received "
          f"{metric('troupe_bridge_received_total', endpoint='in')}, "
          f"echo unacked "
          f"{metric('troupe_service_publish_unacked', service='echo')} "
          f"held {metric('troupe_service_held_messages', service='echo')} "
          f"(held back {held} time(s)), out queued {queued}", flush=True)
    if sent < n:
        check("ZMQ back-pressure reached the sender (it could not push all N)",
              True, f"({sent} of {n})")
    else:
        check("all N went in although nobody read: nothing was dropped",
              dropped == 0 and lost == 0,
              f"(dropped {dropped}, lost {lost})")
    check("nothing dropped by the bridge while nobody reads", dropped == 0,
          f"({dropped})")
    check("nothing lost by the echo service while nobody reads", lost == 0,
          f"({lost})")
    # Phase 2: a reader comes. It must get every one of the N exactly once,
    # while the rest is pushed.
    pull = ctx.socket(zmq.PULL)
    pull.connect(OUT)
    seen = set()
    dups = 0
    bad = 0
    deadline = time.monotonic() + 240
    while len(seen) < n and time.monotonic() < deadline:
        send_some(1000)
        events = pull.poll(10)
        while events:
            try:
                frames = pull.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if frames[0] != b"echo.reply" or len(frames) < 2:
                bad += 1
                continue
            i = json.loads(frames[1])["i"]
            if i in seen:
                dups += 1
            seen.add(i)
    check("every message was pushed in the end", sent == n, f"({sent} of {n})")
    check("the PULL got every one of the N", len(seen) == n,
          f"({len(seen)} of {n})")
    check("... exactly once", dups == 0, f"({dups} duplicates)")
    check("... and nothing else", bad == 0, f"({bad} other messages)")
    check("... with the right ids", seen == set(range(n)))
    # Nothing more arrives afterwards (a duplicate would come now if at all).
    extra = 0
    while pull.poll(500):
        pull.recv_multipart()
        extra += 1
    check("no message after the N", extra == 0, f"({extra})")
    dropped = metric("troupe_bridge_dropped_total") or 0
    check("troupe_bridge_dropped_total is 0", dropped == 0, f"({dropped})")
    lost = metric("troupe_service_messages_lost_total", service="echo") or 0
    check("troupe_service_messages_lost_total{service=echo} is 0", lost == 0,
          f"({lost})")
    queued = metric("troupe_bridge_queued", endpoint="out")
    check("nothing left queued on `out`", queued == 0, f"({queued})")
    print(json.dumps({"n": n, "pushed_before_reader": blocked_at,
                      "received": len(seen), "rss_peak_kb": peak,
                      "held_back_times": held}), flush=True)


if MODE == "oversize":
    oversize()
elif MODE == "stall":
    stall(int(sys.argv[5]), int(sys.argv[6]))
elif MODE == "no_reader":
    no_reader(int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
else:
    sys.exit(f"unknown mode {MODE}")
