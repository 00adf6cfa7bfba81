#!/usr/bin/env bash
# The service author toolkit in a running app: the toolkit example, built as
# a plugin, runs from docs/examples/toolkit.toml; its counter, histogram,
# circuit breaker and health checks show in /metrics and /health over real
# HTTP; a plugin type is added and removed at run time; SIGTERM exits 0.
#   toolkit_test.sh TROUPE PLUGIN DOCS_DIR
TROUPE="$1"
PLUGIN="$2"
DOCS="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
PY=/usr/bin/python3

"$TROUPE" types --plugin="$PLUGIN" >"$WORK/types" 2>&1
expect_grep "troupe types --plugin lists the plugin's type" "$WORK/types" '^lookup +'

port=$(free_port)
"$TROUPE" run "$DOCS/examples/toolkit.toml" \
  --set "app.plugins=[\"$PLUGIN\"]" --set "control.http=127.0.0.1:$port" \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
if ! wait_for_line "$WORK/err" "app 'toolkit' running" 30; then
  kill -9 $pid; fail "the toolkit app never reported running"
  quote 10 "$WORK/err"; finish; exit 1
fi
pass "the toolkit app runs with the plugin's services"
if "$PY" "$HERE/app_http.py" "http://127.0.0.1:$port" toolkit >"$WORK/http" 2>&1; then
  pass "toolkit metrics and health over HTTP ($(grep -c '^ok' "$WORK/http") checks)"
else
  fail "toolkit metrics and health over HTTP"; quote 8 "$WORK/http"
fi
kill -TERM $pid
wait $pid
expect_exit "SIGTERM exits 0" "$?" 0 "$WORK/err"

# A plugin that cannot be loaded is an error at app.plugins, naming the file.
"$TROUPE" check "$DOCS/examples/toolkit.toml" \
  --set 'app.plugins=["./no-such-plugin.so"]' >"$WORK/bad" 2>&1
expect_eq "a missing plugin fails the check" "$?" 1
expect_grep "the error names app.plugins and the file" "$WORK/bad" \
  'app\.plugins: .*no-such-plugin\.so'
finish
