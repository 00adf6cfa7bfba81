"""Peers and a client for bridge_call_test.sh.

Binds a REP peer (answers price requests; the item "slow" only after the
app's 300 ms timeout), a ROUTER peer (answers book requests, returning the
envelope as a REQ socket needs; never answers n = -1) and a REP peer that
never answers; then asks the app's rep endpoint through a REQ client: the
answered calls, each peer's timeout error, and that the same endpoints work
again afterwards. Prints one line per check and exits 1 on any mismatch.

Usage: bridge_call_peer.py API PRICES BOOK SILENT
"""
import json
import sys
import threading
import time

import zmq

API, PRICES, BOOK, SILENT = sys.argv[1:5]
ctx = zmq.Context()
stop = threading.Event()
late_reply_sent = threading.Event()


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
        if item == "slow":
            time.sleep(0.6)  # past the endpoint's timeout: a late reply
        s.send_multipart([topic, json.dumps({"item": item, "price": 3}).encode()])
        if item == "slow":
            late_reply_sent.set()


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
        if n < 0:
            continue  # never answered: the app's REQ socket must not stick
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
    timed_out = {"code": "service_error",
                 "message": lambda m: "troupe.timeout" in m}
    ask("silent.x", {}, "troupe.error", timed_out)
    ask("book.room", {"n": -1}, "troupe.error", timed_out)
    ask("price.tea", {"item": "slow"}, "troupe.error", timed_out)
    # The same endpoints work again (the REP peer is free once it answered
    # late; the bridge drops that reply and counts it).
    if not late_reply_sent.wait(10):
        print("BAD the REP peer never sent its late reply")
        bad += 1
    ask("price.tea", {"item": "after"}, "price.tea", {"price": 3})
    ask("book.room", {"n": 9}, "book.room", {"booked": 9})
finally:
    stop.set()
    for t in threads:
        t.join()
sys.exit(1 if bad else 0)
