"""Foreign ZMQ peers around a running `proxy` app (tests/process/proxy_test.sh).

    proxy_peer.py pubsub FRONT BACK N
    proxy_peer.py keys KEYDIR
    proxy_peer.py pipeline FRONT BACK N [KEYDIR]
    proxy_peer.py backend_curve FRONT BACK N KEYDIR
    proxy_peer.py requests FRONT BACK N
    proxy_peer.py paused FRONT BACK MARKER
    proxy_peer.py metrics URL METRIC SERVICE SIDE|- DIRECTION|- AT_LEAST
    proxy_peer.py status URL SERVICE KEY VALUE

Prints one line per check ("ok ..." or "FAIL ..."); exits non-zero on the
first failure. Waits are bounded and wait for events, never for time.
"""
import json
import os
import re
import sys
import threading
import time
import urllib.request

import zmq
from zmq.utils import monitor as zmq_monitor

ctx = zmq.Context()


def check(what, cond, detail=""):
    if not cond:
        print(f"FAIL {what} {detail}")
        sys.exit(1)
    print(f"ok {what}")


def pubsub(front, back, n):
    # A subscriber on the backend; an XPUB publisher on the frontend sees the
    # subscription the proxy forwarded upstream.
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(back)
    sub.setsockopt(zmq.SUBSCRIBE, b"news.")
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(front)
    check("subscription forwarded to the publisher", pub.poll(10000) != 0)
    frame = pub.recv()
    check("it is news.", frame == b"\x01news.", repr(frame))
    for i in range(n):
        pub.send_multipart([b"news.x", json.dumps({"i": i}).encode()])
        pub.send_multipart([b"other", b"{}"])  # filtered at the publisher
    got = []
    while len(got) < n and sub.poll(10000):
        topic, payload = sub.recv_multipart()
        check_topic = topic == b"news.x"
        if not check_topic:
            check("only subscribed topics arrive", False, repr(topic))
        got.append(json.loads(payload)["i"])
    check(f"all {n} messages arrive in order", got == list(range(n)),
          f"got {len(got)}")
    check("nothing else arrives", sub.poll(300) == 0)


def write_key(path, key):
    with open(path, "w") as f:
        f.write("# test key\n" + key.decode() + "\n")


def read_key(path):
    return open(path).read().split()[-1].encode()


def keys(keydir):
    """Writes CURVE key pairs server.{pub,key}, client.{pub,key} and
    worker.{pub,key}."""
    for who in ("server", "client", "worker"):
        public, secret = zmq.curve_keypair()
        write_key(os.path.join(keydir, who + ".pub"), public)
        write_key(os.path.join(keydir, who + ".key"), secret)


def pipeline(front, back, n, keydir=None):
    workers = []
    for _ in range(2):
        w = ctx.socket(zmq.PULL)
        w.setsockopt(zmq.LINGER, 0)
        w.connect(back)
        workers.append(w)
    producer = ctx.socket(zmq.PUSH)
    producer.setsockopt(zmq.LINGER, 0)
    intruder = None
    if keydir:
        server_pub = read_key(os.path.join(keydir, "server.pub"))
        producer.curve_serverkey = server_pub
        producer.curve_publickey = read_key(os.path.join(keydir, "client.pub"))
        producer.curve_secretkey = read_key(os.path.join(keydir, "client.key"))
        # A CURVE client with a key the proxy does not allow, and a
        # plaintext one: nothing they send may come through.
        intruder = ctx.socket(zmq.PUSH)
        intruder.setsockopt(zmq.LINGER, 0)
        intruder.setsockopt(zmq.SNDTIMEO, 0)
        other_pub, other_sec = zmq.curve_keypair()
        intruder.curve_serverkey = server_pub
        intruder.curve_publickey = other_pub
        intruder.curve_secretkey = other_sec
        intruder.connect(front)
        plain = ctx.socket(zmq.PUSH)
        plain.setsockopt(zmq.LINGER, 0)
        plain.connect(front)
        for s in (intruder, plain):
            try:
                s.send_multipart([b"jobs", b'{"intruder": true}'],
                                 zmq.NOBLOCK)
            except zmq.Again:
                pass
    producer.connect(front)
    for i in range(n):
        producer.send_multipart([b"jobs", json.dumps({"i": i}).encode()])
    got = []
    per_worker = [0, 0]
    poller = zmq.Poller()
    for w in workers:
        poller.register(w, zmq.POLLIN)
    while len(got) < n:
        ready = dict(poller.poll(10000))
        if not ready:
            break
        for k, w in enumerate(workers):
            if w in ready:
                topic, payload = w.recv_multipart()
                msg = json.loads(payload)
                if "intruder" in msg:
                    check("no message from a refused client", False)
                got.append(msg["i"])
                per_worker[k] += 1
    check(f"all {n} jobs delivered once", sorted(got) == list(range(n)),
          f"got {len(got)}")
    print(f"per worker: {per_worker}")
    quiet = all(w.poll(300) == 0 for w in workers)
    check("nothing more arrives", quiet)


def curve_client(kind, back, server_pub, public, secret):
    """A socket connecting to BACK as a CURVE client with the key pair
    (PUBLIC, SECRET), or in plaintext when PUBLIC is None; with a monitor
    for its handshake events."""
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if public is not None:
        s.curve_serverkey = server_pub
        s.curve_publickey = public
        s.curve_secretkey = secret
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED
                               | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                               | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                               | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                               | zmq.EVENT_DISCONNECTED)
    s.connect(back)
    return s, mon


def await_event(mon, wanted, seconds=10):
    """The first event of MON among WANTED within SECONDS (None if none);
    a HANDSHAKE_SUCCEEDED on the way is returned whatever WANTED is."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not mon.poll(int(left * 1000)):
            return None
        event = zmq_monitor.recv_monitor_message(mon)["event"]
        if event in wanted or event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            return event


def event_name(event):
    return next((k for k in dir(zmq) if k.startswith("EVENT_")
                 and getattr(zmq, k) == event), str(event))


def backend_curve(front, back, n, keydir):
    """A pipeline proxy whose backend is a CURVE server that allows only
    worker.pub: a worker with that key gets every job; a worker with
    another key (refused by the allowed list) and a plaintext one get
    none. The producer on the frontend is plaintext."""
    server_pub = read_key(os.path.join(keydir, "server.pub"))
    other_pub, other_sec = zmq.curve_keypair()
    failed = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
              zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
              zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_DISCONNECTED)
    # The refused peers connect first, so that a backend without CURVE
    # would deal them jobs as well.
    intruder, intruder_mon = curve_client(zmq.PULL, back, server_pub,
                                          other_pub, other_sec)
    plain, plain_mon = curve_client(zmq.PULL, back, None, None, None)
    worker, worker_mon = curve_client(
        zmq.PULL, back, server_pub,
        read_key(os.path.join(keydir, "worker.pub")),
        read_key(os.path.join(keydir, "worker.key")))
    event = await_event(worker_mon, failed)
    check("the allowed worker's CURVE handshake succeeds",
          event == zmq.EVENT_HANDSHAKE_SUCCEEDED,
          f"event {event_name(event)}")
    event = await_event(intruder_mon, failed)
    check("a worker with another key is refused",
          event is not None and event != zmq.EVENT_HANDSHAKE_SUCCEEDED,
          f"event {event_name(event)}")
    event = await_event(plain_mon, failed)
    check("a plaintext worker is refused",
          event is not None and event != zmq.EVENT_HANDSHAKE_SUCCEEDED,
          f"event {event_name(event)}")
    producer = ctx.socket(zmq.PUSH)
    producer.setsockopt(zmq.LINGER, 0)
    producer.connect(front)
    for i in range(n):
        producer.send_multipart([b"tasks", json.dumps({"i": i}).encode()])
    got = []
    while len(got) < n and worker.poll(10000):
        topic, payload = worker.recv_multipart()
        got.append(json.loads(payload)["i"])
    check(f"all {n} jobs reach the allowed worker, once",
          sorted(got) == list(range(n)), f"got {len(got)}")
    check("the refused workers get nothing",
          intruder.poll(300) == 0 and plain.poll(0) == 0)
    check("nothing more arrives", worker.poll(300) == 0)
    for s in (intruder, plain, worker):
        s.disable_monitor()


def requests(front, back, n):
    stop = threading.Event()

    def server(name):
        rep = ctx.socket(zmq.REP)
        rep.setsockopt(zmq.LINGER, 0)
        rep.connect(back)
        while not stop.is_set():
            if rep.poll(100):
                req = json.loads(rep.recv())
                rep.send(json.dumps({"answer": req["q"] * 2,
                                     "by": name}).encode())
        rep.close()

    threads = [threading.Thread(target=server, args=(f"s{k}",))
               for k in range(2)]
    for t in threads:
        t.start()
    try:
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.connect(front)
        by = set()
        for i in range(n):
            req.send(json.dumps({"q": i}).encode())
            check_ok = req.poll(10000) != 0
            if not check_ok:
                check(f"request {i} answered", False)
            rep = json.loads(req.recv())
            if rep["answer"] != i * 2:
                check(f"request {i} answered right", False, rep)
            by.add(rep["by"])
        check(f"all {n} requests answered right through the proxy", True)
        print(f"answered by: {sorted(by)}")
    finally:
        stop.set()
        for t in threads:
            t.join()


def paused(front, back, marker):
    """A request to a paused proxy is not answered; once the proxy resumes
    (the caller's reload after MARKER appears), the same request is."""
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.connect(back)
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(front)
    req.send(b'{"q": 21}')
    check("a paused proxy forwards nothing", rep.poll(1500) == 0)
    open(marker, "w").close()
    check("the request arrives after resume", rep.poll(15000) != 0)
    rep.send(json.dumps({"answer": json.loads(rep.recv())["q"] * 2}).encode())
    check("and is answered", req.poll(10000) != 0)
    check("right", json.loads(req.recv())["answer"] == 42)


def metric_value(text, metric, service, side, direction):
    pat = re.compile("^" + metric + r'\{(.*)\} (\S+)$')
    want = [f'service="{service}"']
    if side != "-":
        want.append(f'side="{side}"')
    if direction != "-":
        want.append(f'direction="{direction}"')
    for line in text.splitlines():
        m = pat.match(line)
        if m and all(w in m.group(1) for w in want):
            return float(m.group(2))
    return None


def metrics(url, metric, service, side, direction, at_least):
    deadline = time.monotonic() + 15
    value = None
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
            value = metric_value(r.read().decode(), metric, service, side,
                                 direction)
        if value is not None and value >= at_least:
            break
        time.sleep(0.1)
    check(f"/metrics {metric} {service} {side} {direction} >= {at_least}",
          value is not None and value >= at_least, f"got {value}")


def status(url, service, key, value):
    deadline = time.monotonic() + 15
    got = None
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/services/{service}",
                                    timeout=10) as r:
            got = json.loads(r.read()).get("metadata", {}).get(key)
        if got == value:
            break
        time.sleep(0.1)
    check(f"status {service} {key} = {value}", got == value, f"got {got}")


def main():
    cmd = sys.argv[1]
    if cmd == "keys":
        keys(sys.argv[2])
    elif cmd == "pubsub":
        pubsub(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "pipeline":
        pipeline(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                 sys.argv[5] if len(sys.argv) > 5 else None)
    elif cmd == "backend_curve":
        backend_curve(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "requests":
        requests(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "paused":
        paused(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "metrics":
        metrics(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                sys.argv[6], float(sys.argv[7]))
    elif cmd == "status":
        status(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit(f"unknown command {cmd}")
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
