#!/usr/bin/env bash
# The control plane of a running app, as an operator drives it: curl and
# python against real HTTP on a real `troupe run`, and every `troupe ctl`
# verb against the same app.
#   control_test.sh TROUPE
TROUPE="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
PY=/usr/bin/python3
unset TROUPE_CONTROL_URL TROUPE_CONTROL_TOKEN

cat >"$WORK/app.toml" <<'TOML'
[app]
name = "ops"
status_interval = "60s"
[services.tick]
type = "ticker"
period = "50ms"
[services.count]
type = "counter"
depends_on = ["tick"]
TOML

# start_app [--set ...]: runs $WORK/app.toml with the control plane on a free
# port ($http, $URL), its pid in `pid`.
start_app() {
  http=$(free_port)
  URL="http://127.0.0.1:$http"
  "$TROUPE" run "$WORK/app.toml" --set "control.http=127.0.0.1:$http" "$@" \
    >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  await_running ops 20
}

stop_app() {
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

# http_code METHOD PATH [curl args...]: prints the status; the body is in
# $WORK/body.
http_code() {
  local method="$1" path="$2"
  shift 2
  curl -s --max-time 30 -o "$WORK/body" -w '%{http_code}' -X "$method" \
    "$URL$path" "$@"
}

start_app

# 1. A POST without a body (no Content-Length), as docs/operations.md gives it.
code=$(http_code POST /services/count/restart)
expect_eq "POST without a body restarts (200)" "$code" 200
expect_grep "  and answers the service's status" "$WORK/body" '"state":"running"'

# 2. Slow clients (one header byte a second) cannot lock the control plane.
if "$PY" "$HERE/control_slow.py" "$URL" 16 >"$WORK/slow" 2>&1; then
  pass "16 slow clients: the control plane answers and cuts them off"
  quote "$WORK/slow" | tail -n 1
else
  fail "16 slow clients"; quote "$WORK/slow"
fi

# 3. One rule for service names, in the app file, over HTTP and in ctl.
code=$(http_code POST /services -H 'Content-Type: application/json' \
  -d '{"name": "../etc", "type": "ticker"}')
expect_eq "POST /services named ../etc is refused (400)" "$code" 400
expect_grep "  with the rule, at key 'name'" "$WORK/body" \
  'invalid service name '"'"'\.\./etc'"'"': expected 1 to 64 letters.*"path":"name"'
http_code GET /services >/dev/null
if grep -q '\.\./etc' "$WORK/body"; then fail "../etc was added"; else
  pass "  and nothing was added"; fi
"$TROUPE" ctl --url "$URL" add ../etc ticker >"$WORK/ctl" 2>&1
expect_eq "troupe ctl add ../etc is a usage error (2)" "$?" 2
expect_grep "  naming the rule" "$WORK/ctl" \
  "troupe ctl add: invalid service name '\.\./etc': expected"
cat >"$WORK/badname.toml" <<'TOML'
[services."../etc"]
type = "ticker"
TOML
"$TROUPE" check "$WORK/badname.toml" >"$WORK/check" 2>&1
expect_eq "troupe check refuses the name (1)" "$?" 1
expect_grep "  with file, line and the rule" "$WORK/check" \
  "badname.toml:2:[0-9]+: services\.\.\./etc: invalid service name '\.\./etc'"

stop_app

# 4. Access: an admin token, a read-only token, public probes; no open
#    control plane off loopback unless the file says so.
start_app --set control.token=adm1n --set control.read_token=r3ad
code=$(http_code GET /services)
expect_eq "no credential: 401" "$code" 401
code=$(http_code GET /services -H 'Authorization: Bearer r3ad')
expect_eq "read token reads /services (200)" "$code" 200
code=$(http_code GET /metrics -H 'Authorization: Bearer r3ad')
expect_eq "read token reads /metrics (200)" "$code" 200
code=$(http_code POST /services/tick/stop -H 'Authorization: Bearer r3ad')
expect_eq "read token cannot stop a service (403)" "$code" 403
code=$(http_code DELETE /services/count -H 'Authorization: Bearer r3ad')
expect_eq "read token cannot remove a service (403)" "$code" 403
"$TROUPE" ctl --url "$URL" --token r3ad stop count >"$WORK/ctl" 2>&1
expect_eq "troupe ctl stop with the read token exits 1" "$?" 1
expect_grep "  and says why" "$WORK/ctl" 'HTTP 403: forbidden: the read-only credential'
code=$(http_code POST /services/count/restart -H 'authorization: bearer adm1n')
expect_eq "admin token, scheme in lower case, restarts (200)" "$code" 200
stop_app

http=$(free_port)
"$TROUPE" run "$WORK/app.toml" --set "control.http=0.0.0.0:$http" \
  >"$WORK/out" 2>"$WORK/err"
expect_eq "no token on 0.0.0.0: troupe run exits 1" "$?" 1
expect_grep "  saying why and how to allow it" "$WORK/err" \
  "refusing to serve the control plane on 0.0.0.0:$http without a token.*allow_insecure_bind = true"
open_port=$http
start_app --set control.http=0.0.0.0:$open_port \
  --set control.allow_insecure_bind=true
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$open_port/services")
expect_eq "allow_insecure_bind = true serves 0.0.0.0 without a token" "$code" 200
stop_app
finish
