"""Control-plane reads for the demo process tests (stdlib only).

    demo_http.py URL restarts   the restarts of all services, summed
    demo_http.py URL lost       troupe_service_messages_lost_total, one
                                "SERVICE REASON COUNT" line per nonzero series
    demo_http.py URL dropped    every nonzero *_dropped_total series
    demo_http.py URL bus        the topic bus's troupe_bus_* samples, one
                                "NAME VALUE" line each
Exits 1 when the control plane does not answer.
"""
import json
import re
import sys
import urllib.request

URL = sys.argv[1].rstrip("/")


def get(path):
    with urllib.request.urlopen(URL + path, timeout=10) as r:
        return r.read().decode()


def series(text, name_re):
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)\{(.*)\} (\S+)$", line)
        if m and re.fullmatch(name_re, m.group(1)):
            yield m.group(1), dict(re.findall(r'([a-z_]+)="([^"]*)"',
                                              m.group(2))), float(m.group(3))


try:
    if sys.argv[2] == "restarts":
        services = json.loads(get("/services"))
        if isinstance(services, dict):
            services = services.get("services", [])
        print(sum(int(s.get("restarts", 0)) for s in services))
    elif sys.argv[2] == "lost":
        for _, labels, v in series(get("/metrics"),
                                   "troupe_service_messages_lost_total"):
            if v > 0:
                print(labels.get("service"), labels.get("reason"), int(v))
    elif sys.argv[2] == "dropped":
        for name, labels, v in series(get("/metrics"), r"troupe_\w+_dropped_total"):
            if v > 0:
                print(name, labels, int(v))
    elif sys.argv[2] == "bus":
        for line in get("/metrics").splitlines():
            m = re.match(r"^(troupe_bus_[a-z_]+) (\S+)$", line)
            if m:
                print(m.group(1), int(float(m.group(2))))
    else:
        sys.exit(f"unknown command {sys.argv[2]}")
except OSError as e:
    print(f"control plane: {e}", file=sys.stderr)
    sys.exit(1)
