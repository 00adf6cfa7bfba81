"""Drives apps/examples/echo.toml: PUSHes N requests with malformed messages
mixed in, reads every reply from the PUB endpoint, and prints what it sent
as JSON on the last line (for the shell test to compare with the bridge's
counters).

Usage: bridge_echo_peer.py IN_ADDR OUT_ADDR N
"""
import json
import sys
import time

import zmq

IN, OUT, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"echo.reply")
sub.RCVHWM = 0
sub.connect(OUT)
push = ctx.socket(zmq.PUSH)
push.connect(IN)

# Slow joiner: probe until a reply shows that our subscription is in place.
probes = 0
deadline = time.monotonic() + 20
while True:
    probes += 1
    push.send_multipart([b"echo.request", json.dumps({"probe": probes}).encode()])
    if sub.poll(100):
        break
    if time.monotonic() > deadline:
        sys.exit("no reply to any probe within 20 s")

malformed = {"missing_payload": 0, "too_many_frames": 0,
             "topic_not_utf8": 0, "invalid_json": 0}
for i in range(N):
    push.send_multipart([b"echo.request", json.dumps({"i": i}).encode()])
    if i % 1000 == 500:
        push.send_multipart([b"echo.request"])
        malformed["missing_payload"] += 1
        push.send_multipart([b"echo.request", b"{}", b"{}", b"x"])
        malformed["too_many_frames"] += 1
        push.send_multipart([b"echo.\xff\xfe", b"{}"])
        malformed["topic_not_utf8"] += 1
        push.send_multipart([b"echo.request", b"{not json"])
        malformed["invalid_json"] += 1

got = []
probe_replies = 0
deadline = time.monotonic() + 60
while len(got) < N:
    if not sub.poll(1000):
        if time.monotonic() > deadline:
            break
        continue
    topic, payload = sub.recv_multipart()
    assert topic == b"echo.reply", topic
    msg = json.loads(payload)
    if "probe" in msg:
        probe_replies += 1
    else:
        got.append(msg["i"])

print(f"replies {len(got)} of {N}; probes sent {probes}, answered {probe_replies}")
if got != list(range(N)):
    missing = sorted(set(range(N)) - set(got))
    sys.exit(f"lost or reordered: {len(missing)} missing, first {missing[:5]}")
print(json.dumps({"sent": N + probes, "malformed": malformed}))
