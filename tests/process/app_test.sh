#!/usr/bin/env bash
# The demo app as a user runs it: jobs flow over real ZMQ sockets, the
# control plane answers over real HTTP, SIGTERM drains with every job
# accounted for, the supervisor restarts crashing workers, a second SIGINT
# forces the exit.
#   app_test.sh TROUPE APPS_DIR
TROUPE="$1"
APPS="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
PY=/usr/bin/python3

ports() {
  local jobs results stats http
  jobs=$(free_port) results=$(free_port) stats=$(free_port) http=$(free_port)
  HTTP_PORT=$http
  SETS=(--set "services.controller_bridge.endpoints.jobs.bind=tcp://127.0.0.1:$jobs"
    --set "services.worker_bridge.endpoints.jobs.connect=[\"tcp://127.0.0.1:$jobs\"]"
    --set "services.controller_bridge.endpoints.results.bind=tcp://127.0.0.1:$results"
    --set "services.worker_bridge.endpoints.results.connect=[\"tcp://127.0.0.1:$results\"]"
    --set "services.controller_bridge.endpoints.stats.bind=tcp://127.0.0.1:$stats"
    --set "control.http=127.0.0.1:$http")
}

# 1. No faults: drain on SIGTERM loses nothing; /health, /metrics, add/remove.
ports
"$TROUPE" run "$APPS/demo/demo.toml" "${SETS[@]}" \
  --set services.worker0.fail_every=0 --set services.worker1.fail_every=0 \
  --set app.status_interval=1s >"$WORK/out1" 2>"$WORK/err1" &
pid=$!
if ! wait_for_line "$WORK/err1" "app 'demo' running" 30; then
  kill -9 $pid; fail "demo never reported running"; quote 10 "$WORK/err1"; finish; exit 1
fi
pass "demo runs"
wait_for_line "$WORK/err1" 'throughput [1-9][0-9]* results/s' 20 &&
  pass "results flow back" || fail "no throughput reported"
URL="http://127.0.0.1:$HTTP_PORT"
for check in health metrics add-remove; do
  if "$PY" "$HERE/app_http.py" "$URL" $check >"$WORK/http_$check" 2>&1; then
    pass "control plane: $check"
  else
    fail "control plane: $check"; quote 5 "$WORK/http_$check"
  fi
done
"$TROUPE" ctl --url "$URL" status >"$WORK/ctl" 2>&1 &&
  expect_grep "troupe ctl status shows the workers" "$WORK/ctl" 'worker3 +worker +running' ||
  fail "troupe ctl status failed: $(cat "$WORK/ctl")"
kill -TERM $pid
wait $pid
expect_exit "SIGTERM drains and exits 0" "$?" 0 "$WORK/err1"
expect_grep "drain stops the generator first" "$WORK/err1" "drain: stopping 'generator'"
expect_grep "every job accounted for, none missing" "$WORK/err1" \
  'accounting: produced [1-9][0-9]* = results [0-9]+ \+ failed 0 \+ missing 0'
# The final table keeps what each service did after its actor has gone.
expect_final_in "final table: worker1 handled jobs" "$WORK/out1" worker1

# 2. Faults on: the supervisor restarts a crashing worker; two SIGINTs force.
ports
"$TROUPE" run "$APPS/demo/demo.toml" "${SETS[@]}" \
  --set services.worker0.fail_every=200 --set supervisor.max_restarts=1000 \
  >"$WORK/out2" 2>"$WORK/err2" &
pid=$!
if wait_for_line "$WORK/err2" "restart(ing)? 'worker0'|worker0.*restart" 30; then
  pass "a crashing worker is restarted"
else
  fail "no restart of worker0"; quote 15 "$WORK/err2"
fi
runs_of_worker0() { grep -c '\[worker0\] starting -> running' "$WORK/err2"; }
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)) && (($(runs_of_worker0) < 2)); do sleep 0.1; done
(($(runs_of_worker0) >= 2)) && pass "the restarted worker runs again" ||
  fail "worker0 not running again"
kill -INT $pid; sleep 0.05; kill -INT $pid
wait $pid
expect_eq "a second SIGINT forces exit 130" "$?" 130

# 3. Bad apps fail before anything starts, with positions.
cat >"$WORK/bad.toml" <<'TOML'
[services.a]
type = "tickr"
TOML
cat >"$WORK/cycle.toml" <<'TOML'
[services.b]
type = "ticker"
depends_on = ["c"]
[services.c]
type = "ticker"
depends_on = ["b"]
TOML
"$TROUPE" run "$WORK/bad.toml" >"$WORK/out3" 2>"$WORK/err3"
expect_eq "a bad app exits 1" "$?" 1
expect_grep "unknown type named with a suggestion" "$WORK/err3" \
  "bad.toml:2:[0-9]+: services.a.type: .*ticker"
"$TROUPE" run "$WORK/cycle.toml" >"$WORK/out4" 2>"$WORK/err4"
expect_eq "a dependency cycle exits 1" "$?" 1
expect_grep "dependency cycle named with its position" "$WORK/err4" \
  "cycle.toml:[0-9]+:[0-9]+: services\.[bc]\.depends_on: dependency cycle: (b -> c -> b|c -> b -> c)"
finish
