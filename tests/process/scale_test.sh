#!/usr/bin/env bash
# An app of 20,000 idle services: it starts, SIGTERM drains it, it exits 0
# and the final table shows every service stopped, all within a generous
# bound (the drain used to poll every service after each stop: 1,000 took
# 166 s). Then an app whose start takes seconds (a chain of slow_start
# services, one dependency level each) gets SIGTERM while it starts: the
# start is aborted, what started is stopped, and it exits 0. Last, an app
# of 20,000 services at one level gets SIGTERM while it starts them: the
# start is aborted (or, if it won the race, drained) within
# shutdown_timeout.
#   scale_test.sh TROUPE HANG_PLUGIN
TROUPE="$1"
PLUGIN="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
N=20000
BOUND=120 # seconds for each of start and drain: generous, ASan included

# wait_exit SECONDS: waits for $pid to end, at most SECONDS; sets rc (or
# kills it and fails).
wait_exit() {
  local deadline=$((SECONDS + $1))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null
    fail "still running $1 s after SIGTERM"; quote 20 "$WORK/err"
    finish; exit 1
  fi
  wait "$pid"
  rc=$?
}

{
  printf '[app]\nname = "scale"\nstatus_interval = "1h"\n'
  printf 'shutdown_timeout = "%ss"\n' "$BOUND"
  for ((i = 0; i < N; i++)); do
    # Their own state changes at warn: 60,000 log lines would only slow it.
    printf '[services.c%d]\ntype = "counter"\nlog_level = "warn"\n' "$i"
  done
} >"$WORK/app.toml"
"$TROUPE" run "$WORK/app.toml" >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running scale "$BOUND"
kill -TERM "$pid"
wait_exit "$BOUND"
expect_exit "SIGTERM drains $N services and exits 0" "$rc" 0 "$WORK/err"
expect_grep "they stop as one level" "$WORK/err" \
  "drain: stopping .*\($N services\)"
# Beyond a screenful the final table sums by type: TYPE SERVICES RUNNING
# STOPPED ...
stopped=$(awk '/^final status:/ {f = 1; next} f && $1 == "counter" {print $2, $4}' \
  "$WORK/out")
expect_eq "the final summary shows all $N stopped" "$stopped" "$N $N"

# A chain s0 <- s1 <- ... <- s19: 20 levels of 300 ms each.
{
  printf '[app]\nname = "slow"\nplugins = ["%s"]\nstatus_interval = "1h"\n' \
    "$PLUGIN"
  printf '[services.s0]\ntype = "slow_start"\n'
  for ((i = 1; i < 20; i++)); do
    printf '[services.s%d]\ntype = "slow_start"\ndepends_on = ["s%d"]\n' \
      "$i" $((i - 1))
  done
} >"$WORK/slow.toml"
"$TROUPE" run "$WORK/slow.toml" >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "\[s1\] starting -> running" 60; then
  kill -9 "$pid"; fail "s1 never started"; quote 20 "$WORK/err"
  finish; exit 1
fi
kill -TERM "$pid"
wait_exit 60
expect_exit "SIGTERM while starting exits 0" "$rc" 0 "$WORK/err"
expect_grep "the start is aborted" "$WORK/err" "drain: aborting the start"
if grep -q "\[s19\] starting -> running" "$WORK/err" ||
  grep -q "app 'slow' running" "$WORK/err"; then
  fail "the start ran to the end"; quote 20 "$WORK/err"
else
  pass "the last of the chain never started"
fi
expect_grep "what started is stopped" "$WORK/err" "\[s0\] stopping -> stopped"

# A wide app whose start takes seconds (in a Debug build): W counters at one
# level, shutdown_timeout = "10s", SIGTERM 0.5 s after it logged that it
# starts them, not after it runs. A stop request aborts the start (the
# issue: SIGTERM used to wait until every service had started) and the
# drain honours shutdown_timeout: the process is gone within it and a
# margin, with 0 (drained) or 3 (a service still stopping, named).
W=20000
WIDE_TIMEOUT=10
MARGIN=20 # the final table and the exit after the drain, on a loaded machine
{
  printf '[app]\nname = "wide"\nstatus_interval = "1h"\n'
  printf 'shutdown_timeout = "%ss"\n' "$WIDE_TIMEOUT"
  for ((i = 0; i < W; i++)); do
    printf '[services.c%d]\ntype = "counter"\nlog_level = "warn"\n' "$i"
  done
} >"$WORK/wide.toml"
: >"$WORK/err"
"$TROUPE" run "$WORK/wide.toml" >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "\[wide\] initialized -> starting" "$BOUND"; then
  kill -9 "$pid"; fail "wide: the start never began"; quote 20 "$WORK/err"
  finish; exit 1
fi
sleep 0.5
sent=$(date +%s%N)
kill -TERM "$pid"
wait_exit $((WIDE_TIMEOUT + MARGIN))
took=$((($(date +%s%N) - sent) / 1000000))
pass "SIGTERM during the start of $W services: gone $took ms later (shutdown_timeout ${WIDE_TIMEOUT} s + ${MARGIN} s)"
case "$rc" in
  0) pass "  exit 0: drained" ;;
  3) expect_grep "  exit 3 names the service still stopping" "$WORK/err" \
       "exit 3: '[^']+' did not stop within app.shutdown_timeout \(${WIDE_TIMEOUT}s\)" ;;
  *) fail "  exit $rc, expected 0 or 3"; quote 20 "$WORK/err" ;;
esac
if grep -q "app 'wide' running" "$WORK/err"; then
  # The start won the race: the signal was handled once it ran.
  expect_grep "  the start finished first; the drain ran" "$WORK/err" \
    "drain: stopping .*\($W services\)"
else
  expect_grep "  the signal is taken while starting" "$WORK/err" \
    "signal 15 received while starting: stopping"
  expect_grep "  the drain aborts the start" "$WORK/err" "drain: aborting the start"
fi
if ((rc == 0)); then
  # TYPE SERVICES RUNNING ...: nothing runs at the end.
  expect_eq "  the final summary: $W counters, none running" \
    "$(awk '/^final status:/ {f = 1; next} f && $1 == "counter" {print $2, $3}' "$WORK/out")" \
    "$W 0"
fi
finish
