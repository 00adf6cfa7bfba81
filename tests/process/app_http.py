"""Control-plane checks for tests/process/app_test.sh (stdlib only).

    app_http.py URL health|metrics|add-remove|toolkit
Prints what it checked; exits non-zero on the first failure.
"""
import json
import re
import sys
import time
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


def exposition(text):
    """Checks Prometheus text line by line; returns the family names."""
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
    return families


def metrics():
    status, text, ctype = call("GET", "/metrics")
    check("metrics 200", status == 200, status)
    check("metrics content type", ctype.startswith("text/plain"), ctype)
    families = exposition(text)
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


def sample(text, series):
    """The value of `series` (name with labels) in exposition text, or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def poll(what, probe, timeout=20.0):
    """Calls probe() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.1)
    check(what, False, "(timed out)")


def service_health(name):
    status, text, _ = call("GET", "/health?services=all")
    body = json.loads(text)
    for s in body["services"]:
        if s["name"] == name:
            return status, body, s, {c["name"]: c["status"] for c in s["checks"]}
    return status, body, None, {}


def toolkit():
    """The toolkit example plugin (docs/examples/toolkit.toml) at work."""
    def metrics_with(*series):
        status, text, _ = call("GET", "/metrics")
        if status == 200 and all((sample(text, s) or 0) > 0 for s in series):
            return text
        return None
    text = poll("lookups, retries and an open breaker show in /metrics",
                lambda: metrics_with(
                    'lookups_total{service="flaky",outcome="ok"}',
                    'lookups_total{service="broken",outcome="failed"}',
                    'circuit_breaker_state{service="broken",breaker="backend"}',
                    'circuit_breaker_rejected_total{service="broken",breaker="backend"}'))
    exposition(text)
    check("flaky's lookups all succeed (retries hide every 3rd failure)",
          sample(text, 'lookups_total{service="flaky",outcome="failed"}') == 0)
    check("broken's breaker is open (2)", sample(
        text, 'circuit_breaker_state{service="broken",breaker="backend"}') == 2)
    check("flaky's breaker is closed (0)", sample(
        text, 'circuit_breaker_state{service="flaky",breaker="backend"}') == 0)
    check("the histogram counts flaky's lookups",
          sample(text, 'lookup_seconds_count{service="flaky"}') > 0 and
          sample(text, 'lookup_seconds_bucket{service="flaky",le="+Inf"}') > 0)
    check("a retried lookup takes >= 50 ms (falls in the 0.1 bucket)",
          sample(text, 'lookup_seconds_bucket{service="flaky",le="0.1"}') >
          sample(text, 'lookup_seconds_bucket{service="flaky",le="0.01"}'),
          text)

    status, body, s, checks = poll(
        "broken degrades with its breaker and lookups checks",
        lambda: (lambda r: r if r[3].get("lookups") == "degraded" else None)(
            service_health("broken")))
    check("health 200, ok and ready, status degraded, while one service "
          "is merely degraded (docs/operations.md)",
          status == 200 and body["ok"] and body["ready"] and
          body["status"] == "degraded", body)
    status, text, _ = call("GET", "/readyz")
    check("readyz 200 while degraded", status == 200, text)
    check("broken's breaker check is degraded",
          checks.get("breaker:backend") == "degraded", checks)
    _, _, s, checks = service_health("flaky")
    check("flaky is healthy with both checks", s["overall"] == "healthy" and
          checks == {"lookups": "healthy", "breaker:backend": "healthy"}, s)
    status, text, _ = call("GET", "/services/flaky")
    check("flaky's metadata shows in its status",
          json.loads(text).get("metadata", {}).get("backend") == "example", text)

    status, text, _ = call("DELETE", "/services/broken")
    check("deleting broken answers 200", status == 200, text)
    status, text, _ = call("GET", "/health")
    check("health 200 and healthy once only healthy services are left",
          status == 200 and json.loads(text)["status"] == "healthy", text)

    status, text, _ = call("POST", "/services",
                           {"name": "added", "type": "lookup",
                            "settings": {"backend_fail_every": 1,
                                         "interval": "50ms"}})
    check("a plugin type is added at run time (201)", status == 201, text)
    poll("the added lookup opens its breaker and degrades /health",
         lambda: service_health("added")[3].get("breaker:backend") == "degraded")
    status, body, _, _ = service_health("added")
    check("health degraded again, still 200",
          status == 200 and body["status"] == "degraded", body)
    status, text, _ = call("DELETE", "/services/added")
    check("deleting it answers 200", status == 200, text)


{"health": health, "metrics": metrics, "add-remove": add_remove,
 "toolkit": toolkit}[sys.argv[2]]()
