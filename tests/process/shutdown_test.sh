#!/usr/bin/env bash
# A service that does not stop within app.shutdown_timeout: SIGTERM ends
# `troupe run` with exit 3 and a log line naming the service.
#   shutdown_test.sh TROUPE HANG_PLUGIN
TROUPE="$1"
PLUGIN="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"

cat >"$WORK/app.toml" <<TOML
[app]
name = "hung"
plugins = ["$PLUGIN"]
shutdown_timeout = "1s"

[services.ticker]
type = "ticker"

[services.stuck]
type = "hang"
stop_timeout = "60s"
TOML
"$TROUPE" run "$WORK/app.toml" >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "app 'hung' running" 30; then
  kill -9 $pid; fail "the app never reported running"
  quote 10 "$WORK/err"; finish; exit 1
fi
pass "the app runs"
kill -TERM $pid
wait $pid
expect_eq "a service that hangs past shutdown_timeout exits 3" "$?" 3
expect_grep "the log names the hung service and the timeout" "$WORK/err" \
  "exit 3: 'stuck' did not stop within app.shutdown_timeout \(1s\)"
expect_grep "the other service stopped first" "$WORK/err" \
  "\[ticker\] stopping -> stopped"

# A supervisor that gives up stops the app at once: not at the next status
# print, which is an hour away here. The worker fails on every job.
cat >"$WORK/giveup.toml" <<TOML
[app]
name = "giveup"
status_interval = "1h"
shutdown_timeout = "5s"

[supervisor]
max_restarts = 2
period = "60s"
backoff_min = "10ms"
backoff_max = "10ms"

[services.gen]
type = "generator"
rate = 50
workers = 1

[services.work]
type = "worker"
topic = "jobs."
fail_every = 1
TOML
"$TROUPE" run "$WORK/giveup.toml" >"$WORK/gout" 2>"$WORK/gerr" &
pid=$!
# Generous: a few jobs and restarts take well under a second; the bound
# only tells "at once" from "at the next status print".
if wait_for_line "$WORK/gerr" "the supervisor gave up" 30; then
  pass "the give-up is noticed before the next status print"
else
  fail "no give-up within 30 s (status_interval 1h)"; quote 20 "$WORK/gerr"
  kill -9 $pid
fi
wait $pid
expect_exit "a supervisor that gave up exits 1" "$?" 1 "$WORK/gerr"
finish
