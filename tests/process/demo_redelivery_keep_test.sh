#!/usr/bin/env bash
# [app] redelivery_keep_for in a real app: the demo with
# redelivery_keep_for = "0s". When the fault injector makes a worker throw,
# the jobs the bus kept for its next instance are given up at once (the
# supervisor's restart backoff is at least 100 ms), so they count in
# troupe_bus_redelivery_lost_total and none is redelivered; `troupe config`
# shows the setting. (With the default, 30 s, they reach the next instance:
# process.demo_crash_accounting.)
# Usage: demo_redelivery_keep_test.sh PATH/TO/troupe PATH/TO/apps
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
APPS="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"

need_python

"$TROUPE" config "$APPS/demo/demo.toml" --set app.redelivery_keep_for=0s \
  >"$WORK/config" 2>&1
expect_grep "troupe config shows the setting" "$WORK/config" \
  '^redelivery_keep_for = "0s"'
"$TROUPE" config "$APPS/demo/demo.toml" >"$WORK/config" 2>&1
expect_grep "  its default: 30 s" "$WORK/config" \
  '^redelivery_keep_for = "30s"  # default'

start_demo "$APPS" --set app.redelivery_keep_for=0s \
  --set services.aggregator.report_interval=1h
url="http://127.0.0.1:$http"

# worker0 throws every 5,000 of its jobs (about every 10 s).
lost=""
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
  bus=$("$PY" "$HERE/demo_http.py" "$url" bus 2>/dev/null)
  lost=$(echo "$bus" | awk '$1 == "troupe_bus_redelivery_lost_total" {print $2}')
  [[ "$lost" =~ ^[0-9]+$ ]] && ((lost >= 1)) && break
  sleep 0.5
done
restarts=$("$PY" "$HERE/demo_http.py" "$url" restarts 2>/dev/null)
echo "$bus" | sed 's/^/    bus: /'
if [[ "$lost" =~ ^[0-9]+$ ]] && ((lost >= 1)); then
  pass "what waited for a restarted worker is given up at once: $lost lost after $restarts restart(s)"
else
  fail "troupe_bus_redelivery_lost_total is '$lost' after $restarts restart(s)"
  quote 10 "$WORK/err"
fi
redelivered=$(echo "$bus" | awk '$1 == "troupe_bus_redelivered_total" {print $2}')
expect_eq "  and nothing was redelivered" "$redelivered" 0

kill -TERM "$pid"
wait "$pid"
finish
