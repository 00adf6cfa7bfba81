#!/usr/bin/env bash
# `troupe run` reload on SIGHUP and SIGUSR1: a valid change reconfigures only
# the changed service; an invalid file keeps the running config and logs
# every error; the app keeps running throughout.
# Usage: reload_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"

cp "$EXAMPLES/demo.toml" "$WORK/app.toml"
"$TROUPE" run "$WORK/app.toml" --set app.status_interval=200ms \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "app 'demo' running" 20; then
  kill -9 "$pid" 2>/dev/null; fail "app never reported running"; finish; exit 1
fi

# 1. A valid change to one service: only that one is reconfigured.
sed -i 's/period = "250ms"/period = "100ms"/' "$WORK/app.toml"
kill -HUP "$pid"
if wait_for_line "$WORK/err" "reload: reconfigured 'tick'" 10; then
  pass "SIGHUP reconfigured the changed service"
else
  fail "no reconfigure after SIGHUP"; tail -5 "$WORK/err"
fi
expect_grep "the new period took effect" "$WORK/err" \
  'tick\] now publishing every 100ms'
if grep -q "reload: reconfigured 'count'" "$WORK/err"; then
  fail "unchanged service was reconfigured"
else
  pass "unchanged service left alone"
fi

# 2. An invalid file (SIGUSR1 this time): every error logged, config kept.
printf '[services.tick]\ntype = "ticker"\nperiod = "soon"\nbogus = 1\n' \
  >>"$WORK/app.toml"
kill -USR1 "$pid"
if wait_for_line "$WORK/err" 'reload rejected \(' 10; then
  pass "SIGUSR1 reload rejected the invalid file"
else
  fail "no rejection logged"; tail -5 "$WORK/err"
fi
expect_grep "reload names the file position" "$WORK/err" \
  'reload: .*app.toml:[0-9]+:[0-9]+: '
kill -0 "$pid" 2>/dev/null && pass "still running after a bad reload" \
  || fail "app died on a bad reload"

kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM exits 0" "$?" 0 "$WORK/err"
expect_grep "ticker kept ticking" "$WORK/out" '^tick +ticker +stopped +healthy'
finish
