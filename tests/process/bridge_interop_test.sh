#!/usr/bin/env bash
# `troupe run` with two bridges against a Python (pyzmq) peer: real process,
# real sockets, malformed input mixed into good traffic.
# Usage: bridge_interop_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"

# Debian's python3-zmq lives with /usr/bin/python3; a pyenv python3 on PATH
# may not see it.
need_pyzmq

in_port=$(free_port)
out_port=$(free_port)
"$TROUPE" run "$EXAMPLES/echo_bridge.toml" \
  --set "services.ingress.endpoints.in.bind=tcp://127.0.0.1:$in_port" \
  --set "services.egress.endpoints.out.bind=tcp://127.0.0.1:$out_port" \
  --set app.status_interval=1s >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "app 'echo' running" 20; then
  kill -9 "$pid" 2>/dev/null
  fail "app never reported running"; quote 20 "$WORK/err"
  finish; exit 1
fi
pass "app running"

if "$PY" "$HERE/bridge_peer.py" "tcp://127.0.0.1:$in_port" \
  "tcp://127.0.0.1:$out_port" >"$WORK/peer" 2>&1; then
  pass "python peer: $(grep -c '^ok' "$WORK/peer") checks"
else
  fail "python peer:"; quote "$WORK/peer"
fi
# The client shown in docs/bridge.md works as documented.
"$PY" "$HERE/../../docs/examples/bridge_client.py" "tcp://127.0.0.1:$in_port" \
  "tcp://127.0.0.1:$out_port" >"$WORK/client" 2>&1
expect_eq "docs client exits 0" "$?" "0"
expect_grep "docs client output" "$WORK/client" "^echo.greeting \{'text': 'hi'\}$"
expect_grep "malformed input logged with its reason" "$WORK/err" \
  "endpoint 'in': rejected inbound message \(invalid_json"
expect_grep "non-UTF-8 topic named" "$WORK/err" 'topic_not_utf8'

kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops the app cleanly" "$?" "0"
expect_grep "both bridges stopped" "$WORK/out" '^ingress +bridge +stopped'
finish
