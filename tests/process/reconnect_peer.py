"""Peers for tests/process/bridge_reconnect_test.sh.

    reconnect_peer.py sink ADDR OUT     bind PULL at ADDR; write "accepted"
                                        once a peer connects, then the "i" of
                                        every message, one line each; runs
                                        until killed
    reconnect_peer.py send ADDR FROM TO PUSH {"i": FROM..TO-1} on echo.request
"""
import json
import sys

import zmq


def sink(addr, out):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.setsockopt(zmq.LINGER, 0)
    mon = s.get_monitor_socket(zmq.EVENT_ACCEPTED)
    s.bind(addr)
    f = open(out, "a", buffering=1)
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    poller.register(mon, zmq.POLLIN)
    while True:
        ready = dict(poller.poll())
        if mon in ready:
            mon.recv_multipart()
            f.write("accepted\n")
        if s in ready:
            topic, payload = s.recv_multipart()[:2]
            f.write(f"{json.loads(payload)['i']}\n")


def send(addr, first, last):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 10000)
    s.connect(addr)
    for i in range(first, last):
        s.send_multipart([b"echo.request", json.dumps({"i": i}).encode()])
    s.close()  # waits (linger) until every message went out
    ctx.term()


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("unknown command")
