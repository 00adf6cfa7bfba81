#!/usr/bin/env bash
# apps/examples/echo.toml under `troupe run` with a Python PUSH sender and SUB
# reader: 10,000 messages echoed, none lost, malformed frames mixed in; the
# bridge's final stats count every malformed one by reason, and what came in
# equals what went out plus what was dropped.
# Usage: bridge_echo_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
N=10000

need_pyzmq
in_addr="tcp://127.0.0.1:$(free_port)"
out_addr="tcp://127.0.0.1:$(free_port)"
# No heartbeats: the out endpoint then sends exactly the echoed messages.
"$TROUPE" run "$EXAMPLES/echo.toml" \
  --set "services.bridge.endpoints.in.bind=$in_addr" \
  --set "services.bridge.endpoints.out.bind=$out_addr" \
  --set services.bridge.heartbeat_interval=0s \
  --set app.status_interval=1s >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "app 'echo' running" 20; then
  kill -9 "$pid" 2>/dev/null
  fail "app never reported running"; quote 20 "$WORK/err"
  finish; exit 1
fi
pass "app running"

if "$PY" "$HERE/bridge_echo_peer.py" "$in_addr" "$out_addr" "$N" \
  >"$WORK/peer" 2>&1; then
  pass "python peer: $(head -1 "$WORK/peer")"
else
  fail "python peer:"; quote "$WORK/peer"
fi

kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops the app cleanly" "$?" "0"
expect_grep "final status shows the echo service" "$WORK/out" \
  '^echo +echo +stopped'
expect_grep "bridge logs its final stats" "$WORK/err" 'final stats \{'

# Compare the bridge's counters with what the peer sent.
grep -o 'final stats {.*' "$WORK/err" | sed 's/^final stats //' \
  >"$WORK/stats.json"
tail -1 "$WORK/peer" >"$WORK/sent.json"
"$PY" - "$WORK/stats.json" "$WORK/sent.json" <<'PYEOF' >"$WORK/check" 2>&1
import json, sys
stats = json.load(open(sys.argv[1]))
sent = json.load(open(sys.argv[2]))
eps = {e["name"]: e for e in stats["endpoints"]}
i, o = eps["in"], eps["out"]
def check(what, got, want):
    print(("ok  " if got == want else "BAD ") + f"{what}: {got} (want {want})")
check("in.received = messages sent", i["received"], sent["sent"])
for reason, n in sent["malformed"].items():
    check(f"in.malformed.{reason}", i["malformed"][reason], n)
check("in.malformed_total", i["malformed_total"], sum(sent["malformed"].values()))
check("in.received = out.sent + out.dropped",
      i["received"], o["sent"] + o["dropped"])
check("out.dropped", o["dropped"], 0)
check("out.queued", o["queued"], 0)
PYEOF
if grep -q '^BAD' "$WORK/check" || ! grep -q '^ok' "$WORK/check"; then
  fail "bridge counters:"; quote "$WORK/check"
else
  pass "bridge counters: $(grep -c '^ok' "$WORK/check") checks"
fi
expect_grep "malformed input logged with its reason" "$WORK/err" \
  "endpoint 'in': rejected inbound message \(too_many_frames"
finish
