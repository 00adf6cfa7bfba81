#!/usr/bin/env bash
# The default demo (apps/demo/demo.toml: the fault injector makes worker0
# and worker1 throw now and then; the supervisor restarts them) runs until
# at least two restarts happened, then SIGTERM. Jobs that reach a worker
# while it is down are lost, and every such loss must be counted when it
# happens (troupe_service_messages_lost_total): the aggregator's final
# "missing M" must equal the drain's "lost N message(s) in all" (absent
# means 0) exactly. Exit 0, or 4 only when the drain says messages were
# still in flight.
#
# The aggregator's figures (demo.stats, once a second) are turned off
# (report_interval = 1h): published while the drain has already stopped
# the controller bridge, they are lost too and counted in N (correctly, as
# messages), but they are not jobs. With them off, every message a
# service can lose here is a job or the one result of a job, so M == N.
# Usage: demo_crash_accounting_test.sh PATH/TO/troupe PATH/TO/apps
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
APPS="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
RESTARTS=2

need_python
start_demo "$APPS" --set services.aggregator.report_interval=1h
url="http://127.0.0.1:$http"

# Generous: worker0 throws every 5,000 of its jobs (about every 10 s at the
# default 2,000 jobs/s over four workers), worker1 every 7,000.
restarts=0
deadline=$((SECONDS + 180))
while ((SECONDS < deadline)); do
  n=$("$PY" "$HERE/demo_http.py" "$url" restarts 2>/dev/null)
  [[ "$n" =~ ^[0-9]+$ ]] && restarts=$n
  ((restarts >= RESTARTS)) && break
  sleep 0.5
done
if ((restarts >= RESTARTS)); then
  pass "$restarts restart(s) happened"
else
  fail "only $restarts restart(s) within 180 s"; quote 10 "$WORK/err"
fi
echo "    lost before SIGTERM (service reason count):"
"$PY" "$HERE/demo_http.py" "$url" lost 2>&1 | sed 's/^/      /'
# Jobs that reach a worker while it is down wait on the bus for its next
# instance (docs/services.md, "Redelivery"): at 500 jobs/s per worker and a
# restart backoff of at least 100 ms, every restart leaves some.
bus=$("$PY" "$HERE/demo_http.py" "$url" bus 2>&1)
echo "$bus" | sed 's/^/    bus: /'
redelivered=$(echo "$bus" | awk '$1 == "troupe_bus_redelivered_total" {print $2}')
if [[ "$redelivered" =~ ^[0-9]+$ ]] && ((redelivered >= 1)); then
  pass "batches handed to a restarted worker's next instance: $redelivered"
else
  fail "troupe_bus_redelivered_total is '$redelivered' after $restarts restart(s)"
fi

kill -TERM "$pid"
wait "$pid"
rc=$?
grep -E 'accounting:|lost [0-9]+ message\(s\) in all|drain: .*in flight|exit 4|queued at stop' \
  "$WORK/err" | sed 's/^/    /'

line=$(grep -Eo 'accounting: produced [0-9]+ = results [0-9]+ \+ failed [0-9]+ \+ missing -?[0-9]+' \
  "$WORK/err" | tail -1)
if [[ "$line" =~ produced\ ([0-9]+)\ =\ results\ ([0-9]+)\ \+\ failed\ ([0-9]+)\ \+\ missing\ (-?[0-9]+) ]]; then
  produced=${BASH_REMATCH[1]} results_n=${BASH_REMATCH[2]}
  failed=${BASH_REMATCH[3]} missing=${BASH_REMATCH[4]}
  pass "the aggregator's accounting line: $line"
else
  fail "no accounting line"; quote 20 "$WORK/err"
  finish; exit 1
fi
expect_eq "produced = results + failed + missing" \
  "$produced" "$((results_n + failed + missing))"
# Each injected fault reports its job as failed before the worker throws.
if ((failed >= RESTARTS)); then
  pass "the faults' jobs are reported failed ($failed)"
else
  fail "failed $failed, want >= $RESTARTS (one per injected fault)"
fi
lost=$(grep -Eo 'lost [0-9]+ message\(s\) in all' "$WORK/err" | tail -1 |
  grep -Eo '[0-9]+')
lost=${lost:-0}
# The authoritative sum after the drain: every loss counted when it
# happened, by service and reason.
expect_eq "missing jobs = messages counted lost (missing $missing, lost $lost)" \
  "$missing" "$lost"

if [[ "$rc" == 4 ]]; then
  if grep -Eq 'drain: [0-9]+ message\(s\) still in flight' "$WORK/err"; then
    pass "exit 4: the drain stopped services with messages in flight"
    grep -E 'drain: [0-9]+ message\(s\) still in flight|exit 4' "$WORK/err" |
      sed 's/^/    why: /'
  else
    fail "exit 4 without the drain reporting messages in flight"
    quote 20 "$WORK/err"
  fi
else
  expect_exit "SIGTERM drains and exits 0" "$rc" "0" "$WORK/err"
fi
finish
