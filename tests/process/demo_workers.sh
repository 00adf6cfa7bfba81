# Sourced by demo_worker_kill_test.sh and demo_worker_stop_test.sh (after
# lib.sh, with TROUPE and APPS set): the two-process demo's controller
# (control plane on $http, peer_timeout 2 s) and two worker processes,
# worker-a ($wa) and worker-b ($wb), heartbeating every 200 ms, all on free
# ports. Returns once every process runs, both workers were seen on the
# results link and results flow (each step a pass or a fail).
# start_worker NAME SOURCE_ID starts another worker (its pid in $!).
http=$(free_port)
start_demo_controller "$APPS" --set "control.http=127.0.0.1:$http" \
  --set services.controller_bridge.peer_timeout=2s
start_worker() { # NAME SOURCE_ID
  start_demo_worker "$APPS" "$1" \
    --set services.worker0.fail_every=0 --set services.worker1.fail_every=0 \
    --set "services.worker_bridge.source_id=$2" \
    --set services.worker_bridge.heartbeat_interval=200ms
}
start_worker wa worker-a
wa=$!
start_worker wb worker-b
wb=$!
if wait_for_line "$WORK/ctl.err" "app 'demo-controller' running" 30 &&
  wait_for_line "$WORK/wa.err" "app 'demo-worker' running" 30 &&
  wait_for_line "$WORK/wb.err" "app 'demo-worker' running" 30; then
  pass "controller and two worker processes run"
else
  fail "a process never reported running"
  quote 20 "$WORK/ctl.err" "$WORK/wa.err" "$WORK/wb.err"
fi
if wait_for_line "$WORK/ctl.err" "peer 'worker-a' seen \(via controller_bridge/results\)" 30 &&
  wait_for_line "$WORK/ctl.err" "peer 'worker-b' seen \(via controller_bridge/results\)" 30; then
  pass "both worker processes announce themselves on the results link"
else
  fail "workers not seen"; quote 20 "$WORK/ctl.err"
fi
wait_for_line "$WORK/ctl.err" 'throughput [1-9][0-9]* results/s' 30 &&
  pass "results come back" || { fail "no throughput"; quote 10 "$WORK/ctl.err"; }
