#!/usr/bin/env bash
# The two-process demo as docs/apps.md describes it: the controller
# (generator, aggregator) in one `troupe run`, the workers in another, jobs
# and results over real tcp. Results flow back; SIGTERM to the controller
# drains with every job accounted for; both processes exit 0.
#   demo_two_process_test.sh TROUPE APPS_DIR
TROUPE="$1"
APPS="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"

start_demo_controller "$APPS"
start_demo_worker "$APPS" wrk \
  --set services.worker0.fail_every=0 --set services.worker1.fail_every=0
wrk=$!
if wait_for_line "$WORK/ctl.err" "app 'demo-controller' running" 30 &&
  wait_for_line "$WORK/wrk.err" "app 'demo-worker' running" 30; then
  pass "controller and worker processes run"
else
  fail "a process never reported running"
  quote 20 "$WORK/ctl.err" "$WORK/wrk.err"
fi
wait_for_line "$WORK/ctl.err" 'throughput [1-9][0-9]* results/s' 30 &&
  pass "results come back from the other process" ||
  { fail "no throughput reported"; quote 10 "$WORK/ctl.err"; }
kill -TERM $ctl
wait $ctl
expect_exit "the controller drains and exits 0" "$?" 0 "$WORK/ctl.err"
expect_grep "every job accounted for, none missing" "$WORK/ctl.err" \
  'accounting: produced [1-9][0-9]* = results [0-9]+ \+ failed 0 \+ missing 0'
kill -TERM $wrk
wait $wrk
expect_exit "the worker process exits 0" "$?" 0 "$WORK/wrk.err"
finish
