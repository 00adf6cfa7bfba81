"""Control-plane checks for tests/process/app_test.sh (stdlib only).

    app_http.py URL health|metrics|add-remove
Prints what it checked; exits non-zero on the first failure.
"""
import json
import re
import sys
import urllib.error
import urllib.request

URL = sys.argv[1].rstrip("/")


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Content-Type", "")


def check(what, cond, detail=""):
    if not cond:
        print(f"FAIL {what} {detail}")
        sys.exit(1)
    print(f"ok {what}")


SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
    r'(-?[0-9.e+-]+|NaN|[+-]Inf)$')


def metrics():
    status, text, ctype = call("GET", "/metrics")
    check("metrics 200", status == 200, status)
    check("metrics content type", ctype.startswith("text/plain"), ctype)
    helps, types, families = set(), set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            parts = line.split()
            check(f"type of {parts[2]}", parts[3] in
                  ("counter", "gauge", "histogram", "summary", "untyped"))
            types.add(parts[2])
        elif line:
            m = SAMPLE.match(line)
            check(f"sample line '{line}'", m is not None)
            name = m.group(1)
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            families.add(name if name in types else base)
    check("every family has HELP and TYPE", families <= helps & types,
          families - (helps & types))
    for want in ("troupe_service_state", "troupe_service_messages_in_total",
                 "troupe_service_restarts_total", "troupe_bridge_received_total",
                 "troupe_bridge_malformed_total"):
        check(f"metrics has {want}", want in families)
    check("worker0 is up",
          'troupe_service_up{service="worker0"} 1' in text)


def health():
    status, text, _ = call("GET", "/health")
    body = json.loads(text)
    check("health is JSON with ok", "ok" in body and "services" in body)
    check("health 200 when all healthy", status == 200 and body["ok"], text)
    status, text, _ = call("GET", "/services")
    names = [s["name"] for s in json.loads(text)]
    check("services lists the workers", "worker3" in names, names)


def add_remove():
    status, text, _ = call("POST", "/services",
                           {"name": "extra", "type": "ticker",
                            "settings": {"period": "50ms", "topic": "x.tick"}})
    check("add answers 201", status == 201, text)
    status, text, _ = call("GET", "/services/extra")
    check("added service runs", status == 200 and
          json.loads(text)["state"] == "running", text)
    status, text, _ = call("POST", "/services",
                           {"name": "bad", "type": "tickr"})
    check("unknown type is 400 with a suggestion",
          status == 400 and "ticker" in text, text)
    status, text, _ = call("POST", "/services",
                           {"name": "bad", "type": "ticker",
                            "settings": {"period": "soon"}})
    check("bad settings name their path",
          status == 400 and "settings.period" in text, text)
    status, text, _ = call("DELETE", "/services/extra")
    check("delete answers 200", status == 200, text)
    status, text, _ = call("GET", "/services/extra")
    check("deleted service is gone", status == 404, text)


{"health": health, "metrics": metrics, "add-remove": add_remove}[sys.argv[2]]()
