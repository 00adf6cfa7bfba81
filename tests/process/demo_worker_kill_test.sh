#!/usr/bin/env bash
# Worker liveness and re-dispatch (issue 23 item 2) with real processes:
# the two-process demo with two worker processes. One of them is killed
# with SIGKILL while jobs flow. Its heartbeats (sent on the results link,
# `heartbeat = true`) stop, so the controller's bridge marks it lost:
# /health turns degraded, troupe_bridge_peer_alive for it goes 0, and the
# generator hands every unanswered job out again. SIGTERM then drains the
# controller with every job accounted for (missing 0) and the duplicates
# counted as suppressed.
#   demo_worker_kill_test.sh TROUPE APPS_DIR
TROUPE="$1"
APPS="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

source "$HERE/demo_workers.sh"
get() { # PATH -> body (any status)
  "$PY" -c 'import sys, urllib.request as u, urllib.error as e
try: print(u.urlopen(sys.argv[1], timeout=10).read().decode())
except e.HTTPError as x: print(x.read().decode())' "http://127.0.0.1:$http$1"
}
get /metrics >"$WORK/m1"
expect_grep "worker-a alive in /metrics" "$WORK/m1" \
  '^troupe_bridge_peer_alive\{.*peer="worker-a".*\} 1'

# Frozen first, so that jobs wait unanswered in its pipe when it dies: on a
# quiet machine a worker killed outright has often answered everything
# already (ZMQ stops dealing to a closed connection at once), and there is
# then nothing to hand out again.
# Killed well within the controller's peer_timeout (2 s): a worker found
# lost while still frozen and connected would be dealt half of the jobs
# handed out again, which then die with it (the generator hands them out
# once more only after redispatch_after).
kill -STOP $wa
sleep 0.5
kill -9 $wa
wait $wa 2>/dev/null
if wait_for_line "$WORK/ctl.err" "worker process 'worker-a' lost on 'results'" 30; then
  pass "the controller sees worker-a go silent and hands its jobs out again"
else
  fail "worker-a never reported lost"; quote 20 "$WORK/ctl.err"
fi
get /health >"$WORK/health"
expect_grep "/health: the results link is degraded" "$WORK/health" \
  "no heartbeat on 'results'"
get /metrics >"$WORK/m2"
expect_grep "worker-a dead in /metrics" "$WORK/m2" \
  '^troupe_bridge_peer_alive\{.*peer="worker-a".*\} 0'
expect_grep "worker-b still alive in /metrics" "$WORK/m2" \
  '^troupe_bridge_peer_alive\{.*peer="worker-b".*\} 1'
expect_grep "jobs were handed out again" "$WORK/ctl.err" \
  'handed out [1-9][0-9]* job\(s\) again'
# Let worker-b work off what was handed out again, then drain.
sleep 2
kill -TERM $ctl
wait $ctl
expect_exit "the controller drains and exits 0" "$?" 0 "$WORK/ctl.err"
expect_grep "every job accounted for, none missing" "$WORK/ctl.err" \
  'accounting: produced [1-9][0-9]* = results [0-9]+ \+ failed 0 \+ missing 0'
expect_grep "handed-out-again jobs and suppressed duplicates are reported" \
  "$WORK/ctl.err" 'at-least-once: [1-9][0-9]* job\(s\) handed out again, [0-9]+ duplicate'
grep -E "accounting:|at-least-once:|lost on|lost [0-9]+ message" "$WORK/ctl.err" |
  sed 's/^/    | /'
kill -TERM $wb
wait $wb
expect_exit "the surviving worker process exits 0" "$?" 0 "$WORK/wb.err"
finish
