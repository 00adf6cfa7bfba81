"""A Python service talking to a troupe app through its bridge.

Run `troupe run apps/examples/echo_bridge.toml`, then
`python3 docs/examples/bridge_client.py` (needs pyzmq: python3-zmq).
"""
import json
import sys

import zmq

IN = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5571"
OUT = sys.argv[2] if len(sys.argv) > 2 else "tcp://127.0.0.1:5572"

ctx = zmq.Context()
push = ctx.socket(zmq.PUSH)  # into the app: the bridge's `in` endpoint
push.connect(IN)
pull = ctx.socket(zmq.PULL)  # out of the app: the bridge's `out` endpoint
pull.connect(OUT)
pull.RCVTIMEO = 5000

# Two frames: [topic][UTF-8 JSON payload]. Nothing else is needed.
push.send_multipart([b"echo.greeting", json.dumps({"text": "hi"}).encode()])

topic, payload = pull.recv_multipart()
print(topic.decode(), json.loads(payload))
