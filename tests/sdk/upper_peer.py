"""PUSHes {"text": TEXT} to IN until an answer arrives on OUT's
`upper.reply` (the first ones may meet a subscription not yet in place),
then sends N more and checks that every answer is {"text": EXPECTED}.
Prints one line per check; exits non-zero on the first failure.

Usage: upper_peer.py IN_ADDR OUT_ADDR TEXT EXPECTED [N]
"""
import json
import sys
import time

import zmq

IN, OUT, TEXT, EXPECTED = sys.argv[1:5]
N = int(sys.argv[5]) if len(sys.argv) > 5 else 100
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"upper.reply")
sub.connect(OUT)
push = ctx.socket(zmq.PUSH)
push.connect(IN)
request = json.dumps({"text": TEXT}).encode()


def answer(frames):
    if frames[0] != b"upper.reply":
        sys.exit(f"answer on topic {frames[0]!r}, expected b'upper.reply'")
    return json.loads(frames[1])


deadline = time.monotonic() + 20
while True:
    push.send_multipart([b"upper.request", request])
    if sub.poll(100):
        first = answer(sub.recv_multipart())
        break
    if time.monotonic() > deadline:
        sys.exit("no answer to any request within 20 s")
if first != {"text": EXPECTED}:
    sys.exit(f"answer {first!r}, expected {{'text': {EXPECTED!r}}}")
while sub.poll(200):  # answers to the other probes
    sub.recv_multipart()
for _ in range(N):
    push.send_multipart([b"upper.request", request])
got = 0
deadline = time.monotonic() + 30
while got < N and time.monotonic() < deadline:
    if sub.poll(100):
        a = answer(sub.recv_multipart())
        if a != {"text": EXPECTED}:
            sys.exit(f"answer {a!r}, expected {{'text': {EXPECTED!r}}}")
        got += 1
if got != N:
    sys.exit(f"{got} of {N} answers arrived")
print(f"answers: {N + 1} of {N + 1}, each {{'text': {EXPECTED!r}}}")
