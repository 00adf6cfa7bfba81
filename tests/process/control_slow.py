"""Slow clients against a running app's control plane (stdlib only).

    control_slow.py URL N
Opens N connections that each send one header byte per second and never end
their request (slowloris). While they trickle, GET /livez on fresh
connections must answer; then every slow connection must be closed by the
server although it kept sending. Prints what it checked; exits non-zero on
the first failure.
"""
import socket
import sys
import threading
import time
import urllib.request

URL = sys.argv[1].rstrip("/")
N = int(sys.argv[2])
HOST, PORT = URL.split("//")[1].split(":")
PORT = int(PORT)


def check(what, cond, detail=""):
    if not cond:
        print(f"FAIL {what} {detail}")
        sys.exit(1)
    print(f"ok {what}")


closed_at = [None] * N
started = time.monotonic()


def slow(i):
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(b"GET /services HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    # One byte a second for up to 60 s; stop once the server closes.
    for _ in range(60):
        try:
            s.sendall(b"a")
            s.settimeout(1.0)
            data = s.recv(4096)
            if data == b"" or data:
                # EOF or an error answer: the server gave up on us.
                closed_at[i] = time.monotonic() - started
                break
        except socket.timeout:
            continue
        except OSError:
            closed_at[i] = time.monotonic() - started
            break
    s.close()


threads = [threading.Thread(target=slow, args=(i,), daemon=True)
           for i in range(N)]
for t in threads:
    t.start()
time.sleep(2.0)  # every slow connection is accepted and trickling

# Fresh requests answer while the slow ones hold their connections.
for k in range(5):
    try:
        with urllib.request.urlopen(URL + "/services", timeout=10) as r:
            status = r.status
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        status = repr(e)
    check(f"GET /services #{k + 1} answers while {N} slow clients trickle",
          status == 200, status)
    time.sleep(0.3)

for t in threads:
    t.join(timeout=70)
cut = [c for c in closed_at if c is not None]
check(f"the server closed all {N} slow connections although each kept "
      "sending (a deadline a trickle cannot extend)", len(cut) == N,
      f"closed {len(cut)} of {N}: {closed_at}")
print(f"slow connections closed after {min(cut):.1f}..{max(cut):.1f} s")
