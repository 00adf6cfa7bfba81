"""Peers and a client for bridge_call_test.sh.

Binds a REP peer (answers price requests), a ROUTER peer (answers book
requests, echoing the envelope as a REQ peer of ours needs) and a REP peer
that never answers; then asks the app's rep endpoint through a REQ client:
each answered call, the silent peer's timeout error, and the answered calls
again after it. Prints one line per check and exits 1 on any mismatch.

Usage: bridge_call_peer.py API PRICES BOOK SILENT
"""
import json
import sys
import threading

import zmq

API, PRICES, BOOK, SILENT = sys.argv[1:5]
ctx = zmq.Context()
stop = threading.Event()


def rep_peer():
    s = ctx.socket(zmq.REP)
    s.bind(PRICES)
    s.RCVTIMEO = 100
    while not stop.is_set():
        try:
            topic, payload = s.recv_multipart()
        except zmq.Again:
            continue
        item = json.loads(payload)["item"]
        s.send_multipart([topic, json.dumps({"item": item, "price": 3}).encode()])


def router_peer():
    s = ctx.socket(zmq.ROUTER)
    s.bind(BOOK)
    s.RCVTIMEO = 100
    while not stop.is_set():
        try:
            frames = s.recv_multipart()
        except zmq.Again:
            continue
        # Everything up to and with the empty delimiter is the route back.
        cut = frames.index(b"") + 1
        topic, payload = frames[cut:cut + 2]
        n = json.loads(payload)["n"]
        s.send_multipart(frames[:cut] + [topic, json.dumps({"booked": n}).encode()])


silent = ctx.socket(zmq.REP)  # takes requests, never answers
silent.bind(SILENT)
threads = [threading.Thread(target=f) for f in (rep_peer, router_peer)]
for t in threads:
    t.start()

client = ctx.socket(zmq.REQ)
client.RCVTIMEO = 10000
client.connect(API)
bad = 0


def ask(topic, payload, want_topic, want):
    global bad
    client.send_multipart([topic.encode(), json.dumps(payload).encode()])
    got_topic, got = client.recv_multipart()
    got = json.loads(got)
    ok = got_topic.decode() == want_topic and all(
        got.get(k) == v if not callable(v) else v(got.get(k))
        for k, v in want.items())
    print(("ok  " if ok else "BAD ") + f"{topic} -> {got_topic.decode()} {got}")
    bad += 0 if ok else 1


try:
    for i in range(3):
        ask("price.tea", {"item": f"tea{i}"}, "price.tea", {"price": 3})
        ask("book.room", {"n": i}, "book.room", {"booked": i})
    ask("silent.x", {}, "troupe.error",
        {"code": "service_error", "message": lambda m: "troupe.timeout" in m})
    # The dealer and req endpoints still work after a timeout.
    ask("price.tea", {"item": "after"}, "price.tea", {"price": 3})
    ask("book.room", {"n": 9}, "book.room", {"booked": 9})
finally:
    stop.set()
    for t in threads:
        t.join()
sys.exit(1 if bad else 0)
