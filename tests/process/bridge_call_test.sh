#!/usr/bin/env bash
# Calls out of a troupe app (req and dealer endpoints) under `troupe run`,
# with Python peers: a REQ client asks the app's rep endpoint; call_proxy
# services call a pyzmq REP peer (dealer endpoint), a pyzmq ROUTER peer (req
# endpoint) and a REP peer that never answers. A request a peer answers late
# or never gets a timeout error, the same endpoint works afterwards, and the
# late reply is counted, not delivered. The final stats account for every
# call.
# Usage: bridge_call_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"

need_pyzmq

"$TROUPE" check "$EXAMPLES/calls.toml" >"$WORK/check" 2>&1
expect_eq "apps/examples/calls.toml checks out" "$?" "0"

api="tcp://127.0.0.1:$(free_port)"
prices="tcp://127.0.0.1:$(free_port)"
book="tcp://127.0.0.1:$(free_port)"
silent="tcp://127.0.0.1:$(free_port)"
cat >"$WORK/app.toml" <<TOML
[app]
name = "calls"

[services.bridge]
type = "bridge"
heartbeat_interval = "0s"

[services.bridge.endpoints.api]
socket = "rep"
bind = "$api"

[services.bridge.endpoints.prices]
socket = "dealer"
connect = ["$prices"]
timeout = "300ms"

[services.bridge.endpoints.book]
socket = "req"
connect = ["$book"]
timeout = "300ms"

[services.bridge.endpoints.silent]
socket = "dealer"
connect = ["$silent"]
timeout = "300ms"

[services.prices]
type = "call_proxy"
topic = "price."
bridge = "bridge"
endpoint = "prices"

[services.book]
type = "call_proxy"
topic = "book."
bridge = "bridge"
endpoint = "book"

[services.silent]
type = "call_proxy"
topic = "silent."
bridge = "bridge"
endpoint = "silent"
TOML

"$PY" "$HERE/bridge_call_peer.py" "$api" "$prices" "$book" "$silent" \
  >"$WORK/peer" 2>&1 &
peer=$!
"$TROUPE" run "$WORK/app.toml" >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "app 'calls' running" 20; then
  kill -9 "$pid" "$peer" 2>/dev/null
  fail "app never reported running"; quote 20 "$WORK/err"
  finish; exit 1
fi
pass "app running"

if wait "$peer"; then
  pass "python peers: $(grep -c '^ok' "$WORK/peer") answers as expected"
else
  fail "python peers:"; quote "$WORK/peer"
fi

kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops the app cleanly" "$?" "0"

grep -o 'final stats {.*' "$WORK/err" | sed 's/^final stats //' \
  >"$WORK/stats.json"
"$PY" - "$WORK/stats.json" <<'PYEOF' >"$WORK/counts" 2>&1
import json, sys
eps = {e["name"]: e for e in json.load(open(sys.argv[1]))["endpoints"]}
def check(what, got, want):
    print(("ok  " if got == want else "BAD ") + f"{what}: {got} (want {want})")
for name, replies, timeouts in (("prices", 4, 1), ("book", 4, 1),
                                ("silent", 0, 1)):
    e = eps[name]
    check(f"{name}.replies", e["replies"], replies)
    check(f"{name}.timeouts", e["timeouts"], timeouts)
    check(f"{name}: sent = replies + timeouts + failures + in flight",
          e["sent"], e["replies"] + e["timeouts"] + e["failures"] + e["in_flight"])
    check(f"{name}: calls = sent + waiting + dropped unsent", e["calls"],
          e["sent"] + e["waiting"] + sum(
              n for r, n in e["dropped_by_reason"].items() if r != "late_reply"))
check("prices: the late reply is dropped and counted",
      eps["prices"]["dropped_by_reason"]["late_reply"], 1)
check("api.timeouts", eps["api"]["timeouts"], 0)
PYEOF
if grep -q '^BAD' "$WORK/counts" || ! grep -q '^ok' "$WORK/counts"; then
  fail "bridge counters:"; quote "$WORK/counts"
else
  pass "bridge counters: $(grep -c '^ok' "$WORK/counts") checks"
fi
finish
