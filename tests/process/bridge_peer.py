"""A foreign ZMQ peer (pyzmq) talking to a troupe bridge.

Usage: bridge_peer.py IN_ADDR OUT_ADDR
Pushes good and malformed messages to IN_ADDR and checks that exactly the
good ones come back, in order, as two frames each, from OUT_ADDR. (No
oversize frames: ZMQ_MAXMSGSIZE drops the connection of a peer that sends
one, with what it had in flight; process.bridge_oversize covers that.)
Prints one line per check; exits 1 on any failure.
"""
import json
import sys

import zmq

in_addr, out_addr = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
push = ctx.socket(zmq.PUSH)
push.connect(in_addr)
pull = ctx.socket(zmq.PULL)
pull.connect(out_addr)
pull.RCVTIMEO = 10000

failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok   - " if ok else "FAIL - ") + what + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures += 1


good = []
for i in range(200):
    msg = [b"echo.n", json.dumps({"i": i, "text": "h\u00e9llo"}).encode()]
    good.append(msg)
    push.send_multipart(msg)
    if i % 40 == 0:  # malformed input between good messages
        push.send_multipart([b"only-topic"])
        push.send_multipart([b"echo.x", b"{broken"])
        push.send_multipart([b"echo.\xff\xfe", b"{}"])
        push.send_multipart([b"a", b"{}", b"{}", b"{}"])
push.send_multipart([b"elsewhere", b"{}"])  # valid, but not routed out

received = []
try:
    while len(received) < len(good):
        received.append(pull.recv_multipart())
except zmq.Again:
    pass
check("every good message came back", len(received) == len(good),
      f"{len(received)} of {len(good)}")
check("exactly two frames each", all(len(m) == 2 for m in received))
check("in order, byte for byte", received == good[: len(received)])
pull.RCVTIMEO = 300
try:
    extra = pull.recv_multipart()
    check("nothing else came back", False, repr(extra))
except zmq.Again:
    check("nothing else came back", True)
sys.exit(1 if failures else 0)
