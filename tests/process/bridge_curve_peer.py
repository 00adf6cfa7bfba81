"""CURVE against apps/examples/echo.toml whose `in` endpoint is a CURVE
server allowing one client key: the allowed client's requests are echoed;
a client with an unknown key and a plaintext client fail the handshake (seen
as socket monitor events) and none of their messages arrive. Prints the
number of messages the allowed client sent as JSON on the last line.

Usage: bridge_curve_peer.py IN OUT SERVER.pub CLIENT.key
"""
import json
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

IN, OUT, SERVER_PUB, CLIENT_KEY = sys.argv[1:5]


def key_file(path):
    # troupe keygen files: the first line that is not a comment is the key.
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            return line.encode()
    sys.exit(f"no key in {path}")


server_public = key_file(SERVER_PUB)
client_secret = key_file(CLIENT_KEY)
client_public = zmq.curve_public(client_secret)

ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"echo.reply")
sub.connect(OUT)


def client(secret=None, public=None):
    s = ctx.socket(zmq.PUSH)
    s.LINGER = 0
    if secret is not None:
        s.curve_serverkey = server_public
        s.curve_secretkey = secret
        s.curve_publickey = public
    return s


def connect_and_wait(s, events, wait_ms=10000):
    """Connects `s` with a monitor in place; returns the first event, or
    None after `wait_ms`."""
    mon = s.get_monitor_socket(events)
    s.connect(IN)
    if not mon.poll(wait_ms):
        return None
    return recv_monitor_message(mon)["event"]


def request(s, body, flags=0):
    s.send_multipart([b"echo.request", json.dumps(body).encode()], flags)


def try_request(s, body):
    """A refused socket may have no pipe left to queue on: never block."""
    try:
        request(s, body, zmq.NOBLOCK)
    except zmq.Again:
        pass


allowed = client(client_secret, client_public)
event = connect_and_wait(allowed, zmq.EVENT_HANDSHAKE_SUCCEEDED |
                         zmq.EVENT_HANDSHAKE_FAILED_AUTH)
assert event == zmq.EVENT_HANDSHAKE_SUCCEEDED, f"allowed client: {event}"
print("ok allowed key: handshake succeeded")

# Slow joiner on the PUB side: probe until a reply arrives.
sent = 0
deadline = time.monotonic() + 20
while True:
    request(allowed, {"who": "probe"})
    sent += 1
    if sub.poll(100):
        break
    if time.monotonic() > deadline:
        sys.exit("no reply to the allowed client within 20 s")

s_public, s_secret = zmq.curve_keypair()
stranger = client(s_secret, s_public)
event = connect_and_wait(stranger, zmq.EVENT_HANDSHAKE_SUCCEEDED |
                         zmq.EVENT_HANDSHAKE_FAILED_AUTH)
assert event == zmq.EVENT_HANDSHAKE_FAILED_AUTH, f"unknown key: {event}"
print("ok unknown key: handshake refused (ZAP)")
try_request(stranger, {"who": "stranger"})  # never delivered

plain = client()
# Refused either way: libzmq reports the mechanism mismatch to the client,
# or (about one run in three since this session, cause not found; a plain
# pyzmq CURVE server never did it in 40 tries) the server's close arrives
# first and the client only ever reconnects. What must never happen is a
# handshake that succeeds; the counters below check that nothing it sends
# is delivered.
event = connect_and_wait(plain, zmq.EVENT_HANDSHAKE_SUCCEEDED |
                         zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, 5000)
assert event in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, None), \
    f"plaintext: {event}"
print("ok plaintext client: handshake refused (libzmq)")
try_request(plain, {"who": "plain"})

for i in range(10):
    request(allowed, {"who": "allowed", "n": i})
    sent += 1
request(allowed, {"who": "allowed", "n": "last"})
sent += 1

seen = []
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    if not sub.poll(500):
        continue
    body = json.loads(sub.recv_multipart()[1])
    seen.append(body["who"])
    if body.get("n") == "last":
        break
assert "stranger" not in seen and "plain" not in seen, seen
assert seen.count("allowed") == 11, seen
print("ok allowed client echoed 11 of 11; nothing from the others")
print(json.dumps({"allowed_sent": sent}))
