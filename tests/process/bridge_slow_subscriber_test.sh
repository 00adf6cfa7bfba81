#!/usr/bin/env bash
# apps/examples/echo.toml with one SUB on `out` that subscribes to
# echo.reply and never reads, beside one that reads: after stall_timeout
# (default 1 s) the bridge sends past the stalled subscriber, so the reading
# one gets every message exactly once and heartbeats keep coming; the
# stalled one's misses are counted (slow_subscriber) and the process's
# memory stays bounded.
# Usage: bridge_slow_subscriber_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
CHUNKS=100
PER_CHUNK=2000
# 32 MB measured (debug build), 663 MB under ASan.
LIMIT_KB=$((300 * 1024 + $(asan_extra_kb "$TROUPE")))

need_pyzmq
start_echo "$EXAMPLES/echo.toml"

if "$PY" "$HERE/bridge_flow_peer.py" stall "$in_addr" "$out_addr" \
  "http://127.0.0.1:$http/metrics" "$CHUNKS" "$PER_CHUNK" \
  >"$WORK/peer" 2>&1; then
  pass "python peers: $(grep -c '^ok' "$WORK/peer") checks; $(tail -1 "$WORK/peer")"
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
expect_grep "sending past the stalled subscriber is logged" "$WORK/err" \
  "endpoint 'out': a subscriber has not taken messages for over 1s"
finish
