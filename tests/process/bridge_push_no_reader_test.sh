#!/usr/bin/env bash
# apps/examples/echo.toml with `out` as a PUSH endpoint that nobody reads:
# a Python PUSH sends 200,000 messages of 200 B into `in` as fast as the app
# takes them. The app must hold the sender back (the bridge's delivery hold
# under `block`, the echo service's publish credit, the inbound window, ZMQ's
# pipes) with its memory bounded; once a PULL reads `out`, it gets every one
# of the messages exactly once, nothing dropped or lost in /metrics, and
# SIGTERM stops the app cleanly.
# Usage: bridge_push_no_reader_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
N=200000
# About 40 MB measured (debug build), 330 MB under ASan.
LIMIT_KB=$((300 * 1024 + $(asan_extra_kb "$TROUPE")))

need_pyzmq
start_echo "$EXAMPLES/echo.toml" --set "services.bridge.endpoints.out.socket=push"

if "$PY" "$HERE/bridge_flow_peer.py" no_reader "$in_addr" "$out_addr" \
  "http://127.0.0.1:$http/metrics" "$pid" "$N" "$LIMIT_KB" \
  >"$WORK/peer" 2>&1; then
  pass "python peers: $(grep -c '^ok' "$WORK/peer") checks; $(tail -1 "$WORK/peer")"
  grep -E '^(no reader|RSS samples|at the stall)' "$WORK/peer" | sed 's/^/    /'
else
  fail "python peers:"; quote "$WORK/peer"
fi
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
if [[ "$hwm_kb" =~ ^[0-9]+$ ]] && ((hwm_kb < LIMIT_KB)); then
  pass "peak RSS ${hwm_kb} kB < ${LIMIT_KB} kB"
else
  fail "peak RSS '${hwm_kb}' kB, want < ${LIMIT_KB} kB"
fi

kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM stops the app cleanly" "$?" "0" "$WORK/err"
if grep -Eq "lost [0-9]+ message\(s\) in all" "$WORK/err"; then
  fail "the drain reports losses:"; grep -E "lost [0-9]+ message" "$WORK/err"
else
  pass "the drain reports no loss"
fi
finish
