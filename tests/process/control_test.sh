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
[services.off]
type = "ticker"
enabled = false
[services.gen]
type = "generator"
autostart = false
rate = 20
workers = 1
[services.w]
type = "worker"
autostart = false
restart = "temporary"
fail_every = 1
TOML

# start_app [--set ...]: runs $WORK/app.toml with the control plane on a free
# port ($http, $URL), its pid in `pid`.
start_app() {
  http=$(free_port)
  URL="http://127.0.0.1:$http"
  # Emptied here, not by the redirection in the background child, so the
  # wait below cannot see the previous run's lines.
  : >"$WORK/out"
  : >"$WORK/err"
  "$TROUPE" run "$WORK/app.toml" --set "control.http=127.0.0.1:$http" "$@" \
    >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  await_running ops 20
}

stop_app() {
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  expect_exit "SIGTERM stops the app (0)" "$?" 0 "$WORK/err"
  if grep -q 'Sanitizer' "$WORK/err"; then
    fail "sanitizer report"; quote 40 "$WORK/err"
  fi
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

# 2. Slow clients cannot lock the control plane: 16 that send their headers
#    a byte a second, one its body, one that reads the answer slowly. /health
#    answers while they are held; each is cut off at its deadline (head
#    5 s, body 10 s, write 10 s); a body over 1 MiB is refused with 413.
if "$PY" "$HERE/control_slow.py" "$URL" 16 >"$WORK/slow" 2>&1; then
  pass "slow clients: /health answers while they are held, each is cut off, 413 past 1 MiB"
  grep -v '^ok' "$WORK/slow" | sed 's/^/    | /'
else
  fail "slow clients"; quote "$WORK/slow"
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

# 4. depends_on holds at run time: refused with the names (409), or
#    cascaded when asked.
code=$(http_code DELETE /services/tick)
expect_eq "DELETE tick while count depends on it: 409" "$code" 409
expect_grep "  naming the dependent" "$WORK/body" \
  "cannot remove 'tick': 'count' depends on it; remove it first, or pass \?cascade=true"
code=$(http_code POST /services -H 'Content-Type: application/json' \
  -d '{"name": "c2", "type": "counter", "settings": {"depends_on": ["ghost"]}}')
expect_eq "POST /services depending on a missing service: 400" "$code" 400
expect_grep "  naming it" "$WORK/body" \
  "unknown service 'ghost'.*settings.depends_on\[0\]"
code=$(http_code POST /services/tick/stop)
expect_eq "stop tick while count runs: 409" "$code" 409
expect_grep "  naming count" "$WORK/body" "cannot stop 'tick': 'count' depends on it and runs"
code=$(http_code POST /services/count/stop)
expect_eq "stop count: 200" "$code" 200
code=$(http_code POST /services/tick/stop)
expect_eq "then stop tick: 200" "$code" 200
code=$(http_code POST /services/count/restart)
expect_eq "restart count while tick is stopped: 409" "$code" 409
expect_grep "  naming tick and its state" "$WORK/body" \
  "cannot restart 'count': it depends on 'tick', not running \(tick: stopped\)"
"$TROUPE" ctl --url "$URL" restart count >"$WORK/ctl" 2>&1
expect_eq "troupe ctl restart count: exit 1" "$?" 1
expect_grep "  with the server's reason" "$WORK/ctl" "HTTP 409: cannot restart 'count'"
"$TROUPE" ctl --url "$URL" restart count --cascade >"$WORK/ctl" 2>&1
expect_eq "troupe ctl restart count --cascade: exit 0" "$?" 0
expect_grep "  prints count's status" "$WORK/ctl" "^count: running "
expect_grep "  and that it started tick first" "$WORK/ctl" \
  "^cascade: started tick first$"
expect_grep "  (tick runs)" <(curl -s "$URL/services/tick") '"state":"running"'
code=$(http_code POST '/services/tick/stop?cascade=true')
expect_eq "stop tick?cascade=true: 200" "$code" 200
expect_grep "  answers tick stopped, count in its cascade list" "$WORK/body" \
  '^\{.*"cascade":\["count"\].*"name":"tick".*"state":"stopped"'
expect_grep "  stopped count too" <(curl -s "$URL/services/count") '"state":"stopped"'
code=$(http_code POST '/services/count/start?cascade=true')
expect_eq "start count?cascade=true while tick is stopped: 200" "$code" 200
expect_grep "  answers count running, tick in its cascade list" "$WORK/body" \
  '^\{.*"cascade":\["tick"\].*"name":"count".*"state":"running"'
expect_grep "  count runs" <(curl -s "$URL/services/count") '"state":"running"'
expect_grep "  tick runs (started first)" <(curl -s "$URL/services/tick") '"state":"running"'

# 5. Every troupe ctl verb against the running app, printing what the
#    server answered.
export TROUPE_CONTROL_URL="$URL"
ctl_ok() { # WHAT ARGS...: runs troupe ctl ARGS, expects exit 0
  local what="$1"
  shift
  "$TROUPE" ctl "$@" >"$WORK/ctl" 2>&1
  expect_exit "$what" "$?" 0 "$WORK/ctl"
}
ctl_ok "ctl status" status
expect_grep "  lists tick running" "$WORK/ctl" '^tick +ticker +running'
ctl_ok "ctl status --type counter" status --type counter
expect_grep "  lists count" "$WORK/ctl" '^count +counter +running'
if grep -Eq '^tick ' "$WORK/ctl"; then fail "  --type counter listed tick"
else pass "  --type counter leaves tick out"; fi
ctl_ok "ctl status --limit 1" status --limit 1
expect_grep "  says what the page leaves out" "$WORK/ctl" \
  '^1 of [0-9]+ matching service\(s\) shown; next page: --after [a-z]+$'
next=$(sed -n 's/.*next page: --after \([a-z]*\)$/\1/p' "$WORK/ctl")
ctl_ok "ctl status --limit 1 --after $next" status --limit 1 --after "$next"
if grep -Eq "^$next " "$WORK/ctl"; then fail "  the next page repeats '$next'"
else pass "  the next page starts after '$next'"; fi
ctl_ok "ctl status count" status count
expect_grep "  shows count" "$WORK/ctl" '^count +counter +running'
ctl_ok "ctl stop count" stop count
# count was restarted above: the line must carry the server's count, not a
# made-up restarts=0.
printed=$(sed -n 's/^count: stopped .* restarts=\([0-9]*\).*/\1/p' "$WORK/ctl")
served=$(curl -s "$URL/services/count" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["restarts"])')
if [[ -n "$printed" && "$printed" == "$served" && "$served" != 0 ]]; then
  pass "  prints the server's status (restarts=$printed)"
else fail "  ctl stop printed restarts='$printed', server has '$served': $(cat "$WORK/ctl")"; fi
ctl_ok "ctl start count" start count
expect_grep "  prints the new state" "$WORK/ctl" '^count: running '
ctl_ok "ctl restart count" restart count
expect_grep "  prints the new state" "$WORK/ctl" '^count: running '
ctl_ok "ctl add extra" add extra ticker --set period=1s
expect_grep "  prints the server's status" "$WORK/ctl" '^extra: running '
ctl_ok "ctl remove extra" remove extra
expect_grep "  prints what was removed" "$WORK/ctl" "^removed 'extra'$"
ctl_ok "ctl health" health
expect_grep "  ready" "$WORK/ctl" '^app: healthy, ready$'
ctl_ok "ctl metrics" metrics
expect_grep "  Prometheus text" "$WORK/ctl" '^troupe_service_up\{service="tick"\} 1'
unset TROUPE_CONTROL_URL

# 6. Health: /livez, /readyz, /health, one definition. Stopped or disabled
#    on purpose is still ready; an expected service that fails is not.
code=$(http_code GET /livez)
expect_eq "/livez 200" "$code" 200
curl -s -X POST "$URL/services/count/stop" >/dev/null
code=$(http_code GET /readyz)
expect_eq "/readyz 200 with count stopped on purpose" "$code" 200
code=$(http_code GET /health)
expect_eq "/health 200 with count stopped on purpose" "$code" 200
expect_grep "  count counted as stopped, not listed (it needs no attention)" \
  "$WORK/body" '"services":\[\].*"states":\{[^}]*"stopped":1'
code=$(http_code GET '/health?services=all')
expect_grep "  ?services=all lists count as not expected" "$WORK/body" \
  '"expected":false,"name":"count"|"name":"count"[^}]*"expected":false'
code=$(http_code POST /services/off/start)
expect_eq "enabled = false: start refused (409)" "$code" 409
expect_grep "  saying it is disabled" "$WORK/body" "'off' is disabled \(enabled = false"
expect_grep "  and the flag shows in its status" <(curl -s "$URL/services/off") '"enabled":false'
curl -s -X POST "$URL/services/w/start" >/dev/null
curl -s -X POST "$URL/services/gen/start" >/dev/null
deadline=$((SECONDS + 20))
code=0
while ((SECONDS < deadline)); do
  code=$(http_code GET /readyz)
  [[ "$code" == 503 ]] && break
  sleep 0.2
done
expect_eq "/readyz 503 once the worker fails and is not restarted" "$code" 503
expect_grep "  naming it" "$WORK/body" '"not_ready":\[\{"name":"w","reason":"(failed|stopped|initialized|fatal|unhealthy)"'
code=$(http_code GET /health)
expect_eq "/health 503 too (the same verdict)" "$code" 503
"$TROUPE" ctl --url "$URL" health >"$WORK/ctl" 2>&1
expect_eq "ctl health exits 1" "$?" 1
expect_grep "  saying why" "$WORK/ctl" '^app: .*, not ready: w '
code=$(http_code GET /livez)
expect_eq "/livez still 200 (the process works)" "$code" 200
# DELETE cascades to the dependents, count first, then tick.
code=$(http_code DELETE '/services/tick?cascade=true')
expect_eq "DELETE tick?cascade=true while count depends on it: 200" "$code" 200
expect_grep "  answers both removed, the dependent first" "$WORK/body" \
  '"removed":\["count","tick"\]'
code=$(http_code GET /services/count)
expect_eq "  GET count: 404" "$code" 404
code=$(http_code GET /services/tick)
expect_eq "  GET tick: 404" "$code" 404
http_code GET /services >/dev/null
expect_eq "  GET /services lists neither" \
  "$("$PY" -c 'import json,sys; print(sorted(s["name"] for s in json.load(sys.stdin)))' <"$WORK/body")" \
  "['gen', 'off', 'w']"
stop_app

# 7. Access: an admin token, a read-only token, public probes; no open
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

# 8. A large app through the control plane: 120 counters (c0 opted in to
#    per-service metrics) and a ticker. /services filters and pages,
#    /health sums up, /metrics sums the counters per type, the status lines
#    sum by type beyond a screenful.
{
  printf '[app]\nname = "many"\nstatus_interval = "60s"\n'
  printf '[services.tick]\ntype = "ticker"\nperiod = "1s"\n'
  printf '[services.c0]\ntype = "counter"\nmetrics_per_service = true\n'
  for ((i = 1; i < 120; i++)); do
    printf '[services.c%d]\ntype = "counter"\nlog_level = "warn"\n' "$i"
  done
} >"$WORK/many.toml"
http=$(free_port)
URL="http://127.0.0.1:$http"
: >"$WORK/out"
: >"$WORK/err"
"$TROUPE" run "$WORK/many.toml" --set "control.http=127.0.0.1:$http" \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running many 60
code=$(http_code GET '/services?type=ticker')
expect_eq "GET /services?type=ticker: 200" "$code" 200
expect_eq "  lists tick alone" \
  "$("$PY" -c 'import json,sys; print([s["name"] for s in json.load(sys.stdin)])' <"$WORK/body")" \
  "['tick']"
code=$(http_code GET '/services?state=failed')
expect_eq "GET /services?state=failed: 200, nothing" "$code $(cat "$WORK/body")" "200 []"
code=$(http_code GET '/services?state=sleeping')
expect_eq "an unknown state: 400" "$code" 400
# Every counter, 50 at a time, following X-Next-After.
after=""
pages=0
: >"$WORK/names"
while :; do
  curl -s -D "$WORK/headers" -o "$WORK/body" \
    "$URL/services?type=counter&state=running&limit=50${after:+&after=$after}"
  "$PY" -c 'import json,sys; [print(s["name"]) for s in json.load(sys.stdin)]' \
    <"$WORK/body" >>"$WORK/names"
  pages=$((pages + 1))
  total=$(tr -d '\r' <"$WORK/headers" | awk -F': ' 'tolower($1) == "x-total-count" {print $2}')
  after=$(tr -d '\r' <"$WORK/headers" | awk -F': ' 'tolower($1) == "x-next-after" {print $2}')
  [[ -z "$after" || $pages -gt 5 ]] && break
done
expect_eq "pages of 50 through the running counters: 3 pages, 120 names, none twice" \
  "$pages $(wc -l <"$WORK/names") $(sort -u "$WORK/names" | wc -l) $total" "3 120 120 120"
code=$(http_code GET /health)
expect_eq "GET /health: 200" "$code" 200
expect_eq "  sums up 121 running and healthy, lists none" \
  "$("$PY" -c 'import json,sys; b = json.load(sys.stdin); s = b["summary"]; print(s["services"], s["states"], s["health"], b["services"])' <"$WORK/body")" \
  "121 {'running': 121} {'healthy': 121} []"
code=$(http_code GET '/health?services=all')
expect_eq "GET /health?services=all lists all 121" \
  "$code $("$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["services"]))' <"$WORK/body")" \
  "200 121"
code=$(http_code GET /metrics)
expect_eq "GET /metrics: 200" "$code" 200
expect_grep "  counters summed per type" "$WORK/body" \
  '^troupe_type_services\{type="counter",state="running"\} 120$'
expect_grep "  the ticker per type too" "$WORK/body" '^troupe_type_up\{type="ticker"\} 1$'
expect_grep "  the ticker per service (1 <= metrics_per_service_max)" \
  "$WORK/body" '^troupe_service_up\{service="tick"\} 1$'
expect_grep "  c0 per service (metrics_per_service = true)" "$WORK/body" \
  '^troupe_service_up\{service="c0"\} 1$'
# The process's memory: both series are there, the heap is at least 121 x 2
# KB (it is several MB, most of it the runtime's), and the RSS is larger.
expect_eq "  the process's heap and RSS (bytes)" \
  "$("$PY" -c '
import re, sys
t = sys.stdin.read()
heap = float(re.search(r"^troupe_process_heap_bytes (\S+)$", t, re.M).group(1))
rss = float(re.search(r"^process_resident_memory_bytes (\S+)$", t, re.M).group(1))
print(heap > 121 * 2048, rss > heap)' <"$WORK/body")" "True True"
if grep -q 'service="c1"' "$WORK/body"; then
  fail "  c1 has per-service series (120 counters > 100)"
else pass "  no per-service series for the other counters"; fi
"$TROUPE" ctl --url "$URL" health >"$WORK/ctl" 2>&1
expect_exit "troupe ctl health" "$?" 0 "$WORK/ctl"
expect_grep "  prints the counts" "$WORK/ctl" '^121 services: running 121; healthy 121$'
expect_grep "status lines sum by type beyond a screenful" "$WORK/out" \
  '^status type counter: services=120 running=120 stopped=0 failed=0'
if grep -q '^status c7:' "$WORK/out"; then fail "  c7 has its own status line"
else pass "  no status line per counter"; fi
kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM stops it (0)" "$?" 0 "$WORK/err"
expect_eq "the final summary: 120 counters, 120 stopped" \
  "$(awk '/^final status:/ {f = 1; next} f && $1 == "counter" {print $2, $4}' "$WORK/out")" \
  "120 120"
finish
