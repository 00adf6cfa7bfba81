#!/usr/bin/env bash
# Runs `troupe demo` as a real process: timed run, SIGINT, SIGTERM, bad flags.
# The demo is apps/examples/demo.toml (built in) run as `troupe run` runs it.
# Usage: demo_test.sh PATH/TO/troupe
source "$(dirname "$0")/lib.sh"
TROUPE="$1"

# 1. --duration: runs, prints status, stops both services, exits 0.
"$TROUPE" demo --duration 1s --period 50ms --status-interval 200ms \
  >"$WORK/out" 2>"$WORK/err"
expect_exit "timed run exits 0" "$?" 0 "$WORK/err" "$WORK/out"
expect_grep "status lines while running" "$WORK/out" '^status tick: running'
expect_grep "final table" "$WORK/out" '^final status:'
expect_grep "tick stopped" "$WORK/out" '^tick +ticker +stopped +healthy'
expect_grep "count stopped" "$WORK/out" '^count +counter +stopped +healthy'
# The counter received ticks: its IN column is a positive number.
expect_final_in "count counted ticks" "$WORK/out" count
# The drain stops the dependent first: count before the tick it counts.
first=$(grep -nE '\[(tick|count)\] running -> stopping' "$WORK/err" | head -1)
if [[ "$first" == *"[count]"* ]]; then pass "stop in reverse dependency order"
else fail "stop order: first stop was '$first'"; quote 20 "$WORK/err"; fi
expect_grep "the built-in file named" "$WORK/err" "app 'demo' running for 1s"

# 2./3. A signal stops the app gracefully and exits 0.
for sig in INT TERM; do
  # Fresh files per run: waiting on the previous run's log would signal the
  # new process before it has blocked signals.
  out="$WORK/out.$sig" err="$WORK/err.$sig"
  "$TROUPE" demo --status-interval 100ms >"$out" 2>"$err" &
  pid=$!
  if wait_for_line "$err" "app 'demo' running" 20; then
    kill -s "$sig" "$pid"
    wait "$pid"
    expect_exit "SIG$sig exits 0" "$?" 0 "$err" "$out"
    expect_grep "SIG$sig logged" "$err" 'signal [0-9]+ received: stopping'
    expect_grep "SIG$sig final table" "$out" '^tick +ticker +stopped'
  else
    kill -9 "$pid" 2>/dev/null
    fail "SIG$sig: demo never reported running"
  fi
done

# 4. Bad flags are usage errors (exit 2) naming the flag.
"$TROUPE" demo --duration soon >"$WORK/out" 2>"$WORK/err"
expect_eq "bad duration exits 2" "$?" "2"
expect_grep "bad duration names the flag" "$WORK/err" "--duration: expected a duration"
"$TROUPE" demo --log-level loud >"$WORK/out" 2>"$WORK/err"
expect_eq "bad log level exits 2" "$?" "2"
"$TROUPE" frobnicate >"$WORK/out" 2>"$WORK/err"
expect_eq "unknown command exits 2" "$?" "2"

# 5. --help works and lists the command.
"$TROUPE" --help >"$WORK/out" 2>&1
expect_eq "--help exits 0" "$?" "0"
expect_grep "--help lists demo" "$WORK/out" '^  demo '

finish
