"""Slow clients against a running app's control plane (stdlib only).

    control_slow.py URL N
Opens at once
- N connections that each send one header byte per second and never end
  their request (slowloris),
- one POST whose headers come at once and whose body (Content-Length 120)
  comes one byte per second,
- one connection that asks for 100 dashboard pages in one go (pipelined)
  and reads the answers 256 bytes a second,
and while they are held, GET /health on fresh connections must answer 200.
Then the server must have cut off every one of them although each kept
sending or reading: the head by its 5 s deadline, the body by its 10 s one,
the answer by its 10 s write deadline (apps/troupe/app/control_plane.cpp),
none of which a trickle extends. Last, a POST body over 1 MiB is refused
with 413 and one of exactly 1 MiB is not. Prints what it checked; exits
non-zero on the first failure.
"""
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

URL = sys.argv[1].rstrip("/")
N = int(sys.argv[2])
HOST, PORT = URL.split("//")[1].split(":")
PORT = int(PORT)

# control_plane.cpp: head_timeout, body_timeout, write_timeout, max_body_bytes.
HEAD_TIMEOUT = 5
BODY_TIMEOUT = 10
WRITE_TIMEOUT = 10
MAX_BODY = 1024 * 1024
# How much later than its deadline a cut may come on a loaded machine; a
# server whose timeout restarts with every byte would hold each of them for
# the whole trickle (60 s, 120 s) or, for the reader, until it read 2.5 MB.
MARGIN = 15

TCP_ESTABLISHED = 1  # /proc/net/tcp "st"


def check(what, cond, detail=""):
    if not cond:
        print(f"FAIL {what} {detail}")
        sys.exit(1)
    print(f"ok {what}")


def server_end_established(sock):
    """True while the server's end of `sock`'s connection is ESTABLISHED
    (the server has neither shut it down nor closed it), from /proc/net/tcp:
    its row has local port PORT and remote port `sock`'s."""
    mine = sock.getsockname()[1]
    with open("/proc/net/tcp", encoding="ascii") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, st = fields[1], fields[2], fields[3]
            if (int(local.split(":")[1], 16) == PORT and
                    int(remote.split(":")[1], 16) == mine):
                return int(st, 16) == TCP_ESTABLISHED
    return False  # gone


started = time.monotonic()


def now():
    return time.monotonic() - started


# When the server cut each connection off (seconds since `started`), and
# details per kind.
head_cut = [None] * N
body = {"cut": None, "headers_at": None, "sent": 0, "answer": b""}
reader = {"cut": None, "asked_at": None, "received": 0, "answers": None,
          "error": None}


def head_trickle(i):
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    # One byte a second for up to 60 s; stop once the server closes.
    for _ in range(60):
        try:
            s.sendall(b"a")
            s.settimeout(1.0)
            s.recv(4096)
            # EOF or an error answer: the server gave up on us.
            head_cut[i] = now()
            break
        except socket.timeout:
            continue
        except OSError:
            head_cut[i] = now()
            break
    s.close()


def body_trickle():
    length = 120
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % length)
    body["headers_at"] = now()
    s.settimeout(1.0)
    for _ in range(length):
        try:
            s.sendall(b" ")
            body["sent"] += 1
        except OSError:
            body["cut"] = now()
            break
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            body["cut"] = now()
            break
        body["cut"] = now()
        body["answer"] = data
        break
    s.close()


def slow_reader():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small window and small segments, so that the server's buffers fill
    # with little of the 2.5 MB asked for and its sends block.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    s.settimeout(5)
    s.connect((HOST, PORT))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 100)
    reader["asked_at"] = now()
    data = []
    s.settimeout(0.2)
    next_read = 0.0
    # Reads 256 bytes a second until the server's end is no longer
    # established (it shut the connection down), for at most 60 s.
    while now() - reader["asked_at"] < 60:
        if not server_end_established(s):
            reader["cut"] = now()
            break
        if now() >= next_read:
            next_read = now() + 1.0
            try:
                chunk = s.recv(256)
                if chunk == b"":
                    reader["cut"] = now()
                    break
                data.append(chunk)
            except socket.timeout:
                pass
            except OSError as e:
                reader["cut"] = now()
                reader["error"] = repr(e)
                break
        time.sleep(0.2)
    # Then everything that is left, fast: what the server sent before it
    # gave up, then its end of the stream.
    s.settimeout(10)
    try:
        while True:
            chunk = s.recv(65536)
            if chunk == b"":
                break
            data.append(chunk)
    except OSError as e:
        reader["error"] = repr(e)
    s.close()
    got = b"".join(data)
    reader["received"] = len(got)
    reader["answers"] = got.count(b"HTTP/1.1 200 OK\r\n")


threads = [threading.Thread(target=head_trickle, args=(i,), daemon=True)
           for i in range(N)]
threads.append(threading.Thread(target=body_trickle, daemon=True))
threads.append(threading.Thread(target=slow_reader, daemon=True))
for t in threads:
    t.start()
time.sleep(1.0)  # every slow connection is accepted and trickling


def probe(path):
    try:
        with urllib.request.urlopen(URL + path, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        return repr(e)


# Fresh requests answer while the slow ones hold their connections.
answered = []
for k in range(10):
    status = probe("/health")
    answered.append(now())
    check(f"GET /health #{k + 1} answers 200 while {N} slow headers, a slow "
          "body and a slow reader are held", status == 200, status)
    time.sleep(0.2)

for t in threads:
    t.join(timeout=90)
check("every slow client is done", not any(t.is_alive() for t in threads))

cuts = [c for c in head_cut + [body["cut"], reader["cut"]] if c is not None]
check("the first /health answered before the server cut any slow "
      "connection off", cuts and answered[0] < min(cuts),
      f"answered at {answered[0]:.1f} s, first cut at "
      f"{min(cuts) if cuts else None} s")

cut = [c for c in head_cut if c is not None]
check(f"the server closed all {N} slow-header connections although each "
      "kept sending (a deadline a trickle cannot extend)", len(cut) == N,
      f"closed {len(cut)} of {N}: {head_cut}")
check(f"  within {HEAD_TIMEOUT} s (+{MARGIN} s) of their accept",
      max(cut) < HEAD_TIMEOUT + MARGIN, f"{head_cut}")
print(f"slow headers cut after {min(cut):.1f}..{max(cut):.1f} s")

check("the server cut off the body that came a byte a second",
      body["cut"] is not None,
      f"sent {body['sent']} of 120 bytes, no answer and no close")
after = body["cut"] - body["headers_at"]
check(f"  {BODY_TIMEOUT} s (+{MARGIN} s) after its headers, before it was "
      "complete", BODY_TIMEOUT - 1 <= after < BODY_TIMEOUT + MARGIN and
      body["sent"] < 120, f"after {after:.1f} s, {body['sent']} bytes sent")
first = body["answer"].split(b"\r\n", 1)[0].decode(errors="replace")
check("  with an error answer or a bare close", first == "" or
      first.split(" ")[1].startswith("4"), first)
print(f"slow body cut {after:.1f} s after its headers, {body['sent']} of 120 "
      f"bytes sent, answer: {first or '(closed)'}")

check("the server cut off the reader that took 256 bytes a second",
      reader["cut"] is not None,
      f"received {reader['received']} bytes, error {reader['error']}")
after = reader["cut"] - reader["asked_at"]
check(f"  {WRITE_TIMEOUT} s (+{MARGIN} s) after the answers began",
      WRITE_TIMEOUT - 1 <= after < WRITE_TIMEOUT + MARGIN, f"{after:.1f} s")
check("  before it had read the 100 answers it asked for",
      reader["answers"] < 100,
      f"{reader['answers']} answers, {reader['received']} bytes")
print(f"slow reader cut {after:.1f} s after it asked, having received "
      f"{reader['received']} bytes ({reader['answers']} whole or partial "
      "answers)")


def post_body(size):
    """POST /services with a body of `size` bytes (the JSON object {} padded
    with spaces); the status the server answers."""
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % size)

    def send():
        try:
            s.sendall(b"{}" + b" " * (size - 2))
        except OSError:
            pass  # the server answered and closed before it read it all

    t = threading.Thread(target=send, daemon=True)
    t.start()
    got = b""
    try:
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError as e:
        return repr(e)
    finally:
        t.join(timeout=30)
        s.close()
    return got.split(b"\r\n", 1)[0].decode(errors="replace")


line = post_body(MAX_BODY + 1)
check(f"POST /services with a body of {MAX_BODY + 1} bytes: 413",
      line.startswith("HTTP/1.1 413"), line)
line = post_body(MAX_BODY)
check(f"POST /services with a body of {MAX_BODY} bytes is read (400: no "
      "name), not refused as too large", line.startswith("HTTP/1.1 400"), line)
status = probe("/health")
check("GET /health still answers 200", status == 200, status)
