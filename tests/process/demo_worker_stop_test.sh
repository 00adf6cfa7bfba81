#!/usr/bin/env bash
# A worker that stops on purpose is gone, one that is killed is lost
# (issue 23 item 2), with real processes: the two-process demo with two
# worker processes that heartbeat on their results link. worker-a is
# stopped with SIGTERM: its bridge says goodbye, so the controller reports
# it gone (troupe.peer.gone), hands its unanswered jobs out again, keeps
# /health healthy and drops its troupe_bridge_peer_alive series, also past
# peer_timeout. worker-b is then killed with SIGKILL: no goodbye, so it is
# lost as before (degraded, series at 0). A third worker takes over, and
# the controller's drain accounts for every job.
#   demo_worker_stop_test.sh TROUPE APPS_DIR
TROUPE="$1"
APPS="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

source "$HERE/demo_workers.sh"
# get PATH -> "STATUS BODY" (any status)
get() {
  "$PY" -c 'import sys, urllib.request as u, urllib.error as e
try:
    r = u.urlopen(sys.argv[1], timeout=10); print(r.status, r.read().decode())
except e.HTTPError as x: print(x.code, x.read().decode())' "http://127.0.0.1:$http$1"
}
get /metrics >"$WORK/m1"
expect_grep "worker-a alive in /metrics" "$WORK/m1" \
  '^troupe_bridge_peer_alive\{.*peer="worker-a".*\} 1'

# 1. SIGTERM: worker-a drains and says goodbye.
kill -TERM $wa
wait $wa
expect_exit "worker-a drains and exits 0 on SIGTERM" "$?" 0 "$WORK/wa.err"
expect_grep "worker-a's bridge says goodbye on its results link" "$WORK/wa.err" \
  "said goodbye to peers on results"
if wait_for_line "$WORK/ctl.err" \
  "peer 'worker-a' said goodbye on 'results' \(stopped on purpose\)" 10; then
  pass "the controller's bridge sees worker-a gone (info)"
else
  fail "no goodbye from worker-a at the controller"; quote 20 "$WORK/ctl.err"
fi
expect_grep "the generator hands worker-a's unanswered jobs out again" \
  "$WORK/ctl.err" \
  "worker process 'worker-a' stopped \(said goodbye on 'results'\): handing out its jobs again"
# Past peer_timeout (2 s) it is still gone, never lost.
sleep 3
if grep -Eq "worker-a.*(lost|no heartbeat)" "$WORK/ctl.err"; then
  fail "worker-a reported lost after its goodbye"
  grep -E "worker-a" "$WORK/ctl.err" | quote 10 /dev/stdin
else
  pass "worker-a is not reported lost past peer_timeout"
fi
get /health >"$WORK/health1"
expect_grep "/health stays 200 healthy after a goodbye" "$WORK/health1" \
  '^200 .*"status": ?"healthy","summary"'
if grep -q "no heartbeat" "$WORK/health1"; then
  fail "/health names a silent link after a goodbye"; quote "$WORK/health1"
else
  pass "/health has no silent-peer check"
fi
get /metrics >"$WORK/m2"
if grep -Eq '^troupe_bridge_peer_alive\{.*peer="worker-a"' "$WORK/m2"; then
  fail "worker-a's troupe_bridge_peer_alive series is still there"
  grep peer_alive "$WORK/m2" | quote 5 /dev/stdin
else
  pass "worker-a's troupe_bridge_peer_alive series is removed"
fi
expect_grep "worker-b still alive in /metrics" "$WORK/m2" \
  '^troupe_bridge_peer_alive\{.*peer="worker-b".*\} 1'

# 2. SIGKILL: worker-b says nothing and is lost after peer_timeout.
kill -9 $wb
wait $wb 2>/dev/null
if wait_for_line "$WORK/ctl.err" "worker process 'worker-b' lost on 'results'" 30; then
  pass "the controller sees killed worker-b lost"
else
  fail "worker-b never reported lost"; quote 20 "$WORK/ctl.err"
fi
if grep -q "peer 'worker-b' said goodbye" "$WORK/ctl.err"; then
  fail "a killed worker said goodbye"
else
  pass "no goodbye from the killed worker"
fi
get /health >"$WORK/health2"
expect_grep "/health: degraded, the results link named" "$WORK/health2" \
  "no heartbeat on 'results'.*\"status\": ?\"degraded\",\"summary\""
get /metrics >"$WORK/m3"
expect_grep "worker-b at 0 in /metrics" "$WORK/m3" \
  '^troupe_bridge_peer_alive\{.*peer="worker-b".*\} 0'

# 3. A new worker takes the jobs handed out again; the drain loses none.
start_worker wc worker-c
wc=$!
wait_for_line "$WORK/ctl.err" "peer 'worker-c' seen" 30 &&
  pass "worker-c joins" || { fail "worker-c not seen"; quote 10 "$WORK/ctl.err"; }
sleep 2
kill -TERM $ctl
wait $ctl
expect_exit "the controller drains and exits 0" "$?" 0 "$WORK/ctl.err"
expect_grep "every job accounted for, none missing" "$WORK/ctl.err" \
  'accounting: produced [1-9][0-9]* = results [0-9]+ \+ failed 0 \+ missing 0'
grep -E "accounting:|at-least-once:|lost on|said goodbye|stopped \(said" \
  "$WORK/ctl.err" | sed 's/^/    | /'
kill -TERM $wc
wait $wc
expect_exit "worker-c exits 0" "$?" 0 "$WORK/wc.err"
finish
