#!/usr/bin/env bash
# The dashboard (GET /) in a real browser: headless Chromium, driven through
# the DevTools protocol (dashboard_cdp.py), against the running demo with a
# token. Also the page's and /logs' HTTP behaviour with curl.
#   dashboard_test.sh TROUPE APPS_DIR [SCREENSHOT_DIR]
# Exits 77 (skipped) only when there is no chromium (scripts/test installs
# Debian's package).
TROUPE="$1"
APPS="$2"
SHOTS="${3:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
need_pyzmq # for the malformed message below

CHROMIUM=""
for cand in chromium chromium-browser; do
  if command -v "$cand" >/dev/null; then CHROMIUM="$(command -v "$cand")"; break; fi
done
if [[ -z "$CHROMIUM" ]]; then
  echo "SKIP - no chromium (apt-get install chromium)"
  exit 77
fi

TOKEN="dash-adm1n" READ="dash-r3ad"
# worker0 fails every 300 jobs (about twice a second at the demo's rate), so
# the fault injector restarts it while the page is open. A pub endpoint
# "beat" of controller_bridge (source_id "controller") and a sub endpoint
# "watch" of worker_bridge carry heartbeats: worker_bridge has a peer.
beat=$(free_port)
start_demo "$APPS" --set control.token=$TOKEN --set control.read_token=$READ \
  --set services.worker0.fail_every=300 \
  --set services.controller_bridge.source_id=controller \
  --set services.controller_bridge.endpoints.beat.socket=pub \
  --set "services.controller_bridge.endpoints.beat.connect=[\"tcp://127.0.0.1:$beat\"]" \
  --set 'services.controller_bridge.endpoints.beat.topics=["none."]' \
  --set services.worker_bridge.endpoints.watch.socket=sub \
  --set "services.worker_bridge.endpoints.watch.bind=tcp://127.0.0.1:$beat" \
  --set 'services.worker_bridge.endpoints.watch.topics=["none."]'
URL="http://127.0.0.1:$http"

# 1. The page is public and says a token is needed; the data is not.
code=$(curl -s -o "$WORK/page" -w '%{http_code}' "$URL/")
expect_eq "GET / without a token: 200" "$code" 200
expect_grep "  an HTML page" "$WORK/page" '^<!DOCTYPE html>'
expect_grep "  that asks for a token" "$WORK/page" '<meta name="troupe-auth" content="token">'
if grep -Eq '(src|href)="(https?:)?//' "$WORK/page"; then
  fail "  the page loads something from elsewhere"; else
  pass "  nothing loaded from elsewhere"; fi
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$URL/logs")
expect_eq "GET /logs without a token: 401" "$code" 401
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $READ" \
  "$URL/logs?tail=5")
expect_eq "GET /logs?tail=5 with the read token: 200" "$code" 200
n=$("$PY" -c 'import json,sys; b=json.load(open(sys.argv[1])); print(len(b["lines"]))' "$WORK/body")
expect_eq "  five lines" "$n" 5
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $READ" \
  "$URL/logs?tail=1000")
expect_grep "  the start is in the tail" "$WORK/body" '"message":"starting -> running \(start\)"'
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $READ" \
  "$URL/logs?tail=many")
expect_eq "GET /logs?tail=many: 400" "$code" 400

# A message that breaks the wire format (one frame) on controller_bridge's
# results endpoint: the page must show it as malformed.
"$PY" - "tcp://127.0.0.1:$results" <<'EOF'
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect(sys.argv[1])
s.send(b"one frame only")
# Delivered before the process ends (an implicit exit may drop it).
s.close(linger=30000)
ctx.term()
EOF
malformed=""
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  malformed=$(curl -s -H "Authorization: Bearer $READ" "$URL/metrics" |
    grep -E '^troupe_bridge_malformed_total\{[^}]*service="controller_bridge"[^}]*endpoint="results"' |
    awk '{s += $2} END {print s + 0}')
  ((malformed >= 1)) && break
  sleep 0.2
done
if ((malformed >= 1)); then pass "a one-frame message is counted malformed"
else fail "malformed_total on results: '$malformed'"; fi

# 2. The browser: token prompt, read_token refused on buttons, every
#    service, rates, endpoints, health, a restart within 3 s, a click on
#    stop, a phone-sized screen, no console errors.
if "$PY" "$HERE/dashboard_cdp.py" "$CHROMIUM" "$URL" "$TOKEN" "$READ" $SHOTS \
  >"$WORK/cdp" 2>&1; then
  pass "browser checks"
else
  fail "browser checks"
fi
sed 's/^/    /' "$WORK/cdp"

kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect_exit "SIGTERM stops the demo (0)" "$?" 0 "$WORK/err"

# 3. The supervision tree of an app with a nested supervisor
#    (apps/examples/nested.toml, no token): the pool's services in its own
#    branch of the tree.
http=$(free_port)
"$TROUPE" run "$APPS/examples/nested.toml" --set "control.http=127.0.0.1:$http" \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running nested 30
if "$PY" "$HERE/dashboard_cdp.py" --tree "$CHROMIUM" "http://127.0.0.1:$http" \
  >"$WORK/cdp" 2>&1; then
  pass "browser checks of the tree"
else
  fail "browser checks of the tree"
fi
sed 's/^/    /' "$WORK/cdp"
kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect_exit "SIGTERM stops the nested app (0)" "$?" 0 "$WORK/err"
finish
