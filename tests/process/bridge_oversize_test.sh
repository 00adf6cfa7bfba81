#!/usr/bin/env bash
# apps/examples/echo.toml (`in` has max_message_bytes = 65536) gets one
# 256 MiB frame from a Python PUSH: ZeroMQ (ZMQ_MAXMSGSIZE) drops that
# connection before the frame is in memory, so the troupe process's peak
# RSS stays far below the frame; the disconnect is counted in /metrics, and
# a new connection is still echoed.
# Usage: bridge_oversize_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
LIMIT_KB=$((128 * 1024)) # half the frame

need_pyzmq
start_echo "$EXAMPLES/echo.toml"
# Peak RSS is compared with the peak before the frame: an ASan build starts
# at ~250 MB of shadow memory and runtime, a plain one at ~20 MB.
base_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")

if "$PY" "$HERE/bridge_flow_peer.py" oversize "$in_addr" "$out_addr" \
  "http://127.0.0.1:$http/metrics" >"$WORK/peer" 2>&1; then
  pass "python peer: $(grep -c '^ok' "$WORK/peer") checks"
else
  fail "python peer:"; quote "$WORK/peer"
fi
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
if [[ "$hwm_kb" =~ ^[0-9]+$ && "$base_kb" =~ ^[0-9]+$ ]] &&
  ((hwm_kb - base_kb < LIMIT_KB)); then
  pass "peak RSS grew $((hwm_kb - base_kb)) kB < ${LIMIT_KB} kB (the frame was 262144 kB)"
else
  fail "peak RSS '${hwm_kb}' kB from '${base_kb}' kB, want < ${LIMIT_KB} kB more"
fi

kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM stops the app cleanly" "$?" "0" "$WORK/err"
expect_grep "the disconnect is logged" "$WORK/err" \
  "endpoint 'in': [0-9]+ peer connection\(s\) closed"
finish
