#!/usr/bin/env bash
# Nested supervisors from the app file (apps/examples/nested.toml) in a real
# `troupe run`: the pool's one_for_all restarts its sibling w1 whenever w0
# throws, while w2 under the root (one_for_one) never restarts; services of
# the pool are addressed by name over HTTP and `troupe ctl` (a stopped one
# stays stopped, dependencies still refuse); the drain stops the generator
# first, then the pool's services through the pool, then the pool with w2;
# a pool that gives up is restarted by the root; `troupe check` lists the
# pool and a bad supervisor name is one error with file:line:col.
# Usage: nested_supervisor_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
PY=/usr/bin/python3
APP="$EXAMPLES/nested.toml"

# svc URL NAME FIELD: one field of GET /services/NAME.
svc() {
  "$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, sys, urllib.request
url, name, field = sys.argv[1:]
with urllib.request.urlopen(f"{url}/services/{name}", timeout=10) as r:
    print(json.load(r).get(field, ""))
PYEOF
}

# 1. troupe check: ok, the pool and its services listed.
"$TROUPE" check "$APP" >"$WORK/check" 2>&1
expect_eq "check exits 0" "$?" 0
expect_grep "check lists the pool with its strategy and services" \
  "$WORK/check" '^supervisor pool \(one_for_all, max_restarts 1000\): w0 w1$'

# 2. A service naming an unknown supervisor: file:line:col:key, exit 1.
sed 's/^supervisor = "pool"$/supervisor = "pol"/' "$APP" >"$WORK/bad.toml"
"$TROUPE" check "$WORK/bad.toml" >"$WORK/out" 2>"$WORK/err"
expect_eq "an unknown supervisor exits 1" "$?" 1
expect_grep "the unknown supervisor named with its position" "$WORK/err" \
  "bad.toml:[0-9]+:14: services\.w0\.supervisor: unknown supervisor 'pol' \(did you mean 'pool'\?\)"

# 3. The app runs; w0 throws, the pool restarts w0 and w1, w2 is left alone.
http=$(free_port)
url="http://127.0.0.1:$http"
cp "$APP" "$WORK/nested.toml"
"$TROUPE" run "$WORK/nested.toml" --set "control.http=127.0.0.1:$http" \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running nested 20
w1=0
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  w1=$(svc "$url" w1 restarts 2>/dev/null)
  [[ "$w1" =~ ^[0-9]+$ ]] && ((w1 >= 2)) && break
  sleep 0.3
done
if [[ "$w1" =~ ^[0-9]+$ ]] && ((w1 >= 2)); then
  pass "w1 (never failed) restarted with w0 by the pool's one_for_all ($w1)"
else
  fail "w1 restarts '$w1', want >= 2"; quote 20 "$WORK/err"
fi
w0=$(svc "$url" w0 restarts)
if [[ "$w0" =~ ^[0-9]+$ ]] && ((w0 >= w1 - 1)); then
  pass "w0 restarted too ($w0)"
else
  fail "w0 restarts '$w0'"
fi
expect_eq "w2 under the root never restarted" "$(svc "$url" w2 restarts)" 0
expect_eq "the generator never restarted" "$(svc "$url" generator restarts)" 0
expect_eq "GET /services/w1 names its supervisor" \
  "$(svc "$url" w1 supervisor)" pool
expect_eq "w2 has none" "$(svc "$url" w2 supervisor)" ""
expect_grep "w0's failure is logged" "$WORK/err" '\[w0\] .*-> failed'

# 4. troupe ctl addresses pool services by name; dependencies still hold.
"$TROUPE" ctl --url "$url" stop w0 >"$WORK/ctl" 2>&1
expect_eq "ctl stop w0 refused (generator depends on it)" "$?" 1
expect_grep "the refusal names the dependent" "$WORK/ctl" \
  "cannot stop 'w0': 'generator' depends on it"
"$TROUPE" ctl --url "$url" stop w1 >"$WORK/ctl" 2>&1
expect_eq "ctl stop w1 exits 0" "$?" 0
expect_grep "ctl stop w1 prints the stopped state" "$WORK/ctl" '^w1: stopped'
before=$(svc "$url" w0 restarts)
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  now=$(svc "$url" w0 restarts)
  ((now >= before + 2)) && break
  sleep 0.3
done
expect_eq "w1 stopped on purpose stays stopped while w0 restarts ($before -> $now)" \
  "$(svc "$url" w1 state)" stopped
# (w0 restarting makes the app unready for a moment: asked a few times.)
for _ in $(seq 50); do
  curl -s "$url/readyz" >"$WORK/ready"
  grep -q '"ready":true' "$WORK/ready" && break
  sleep 0.2
done
expect_grep "a pool service stopped on purpose keeps the app ready" \
  "$WORK/ready" '"ready":true'
"$TROUPE" ctl --url "$url" restart w1 >"$WORK/ctl" 2>&1
expect_eq "ctl restart w1 exits 0" "$?" 0
expect_grep "ctl restart w1 prints the running state" "$WORK/ctl" '^w1: running'

# A reload does not reconfigure a running supervisor: it says so.
sed -i 's/^strategy = "one_for_all"$/strategy = "rest_for_one"/' "$WORK/nested.toml"
kill -HUP "$pid"
if wait_for_line "$WORK/err" \
  'reload: \[supervisors\.pool\] changed; restart the app to apply' 10; then
  pass "a changed [supervisors.pool] on reload is reported, not applied"
else
  fail "no reload line for the changed supervisor"; quote 10 "$WORK/err"
fi

# 5. SIGTERM: the generator first, then the pool's services through the
#    pool, then the pool and w2; exit 0; the final table shows them stopped.
kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM drains and exits 0" "$?" 0 "$WORK/err"
gen=$(grep -n "drain: stopping 'generator'" "$WORK/err" | head -1 | cut -d: -f1)
# (w0 may be between two instances when SIGTERM comes: then only w1.)
pool=$(grep -nE "drain: stopping ('w0', )?'w1' \(supervisor 'pool'\)" "$WORK/err" |
  head -1 | cut -d: -f1)
last=$(grep -n "drain: stopping 'pool', 'w2'" "$WORK/err" | head -1 | cut -d: -f1)
if [[ -n "$gen" && -n "$pool" && -n "$last" ]] && ((gen < pool && pool < last)); then
  pass "drain order: generator, the pool's services, then the pool and w2"
else
  fail "drain order (lines $gen, $pool, $last)"; grep "drain:" "$WORK/err"
fi
for s in w0 w1 w2 generator; do
  expect_grep "final table: $s stopped" "$WORK/out" "^$s +[a-z]+ +stopped "
done
if grep -qE '^pool ' "$WORK/out"; then
  fail "the pool is listed as a service in the final table"
else
  pass "the pool is not listed as a service"
fi

# 6. A pool that gives up (max_restarts 1) fails, and the root restarts it
#    with fresh services; w2 keeps running, the app does not exit.
http=$(free_port)
url="http://127.0.0.1:$http"
"$TROUPE" run "$APP" --set "control.http=127.0.0.1:$http" \
  --set supervisors.pool.max_restarts=1 >"$WORK/out2" 2>"$WORK/err2" &
pid=$!
if ! wait_for_line "$WORK/err2" "app 'nested' running" 20; then
  kill -9 "$pid" 2>/dev/null; fail "app never reported running"; finish; exit 1
fi
if wait_for_line "$WORK/err2" '\[pool\] .*-> failed' 60; then
  pass "the pool gave up (more than max_restarts restarts)"
else
  fail "the pool never gave up"; quote 20 "$WORK/err2"
fi
# The second start of the pool, after its restart backoff (the first one is
# in the log already).
pool_starts() { grep -c '\[pool\] starting -> running' "$WORK/err2"; }
deadline=$((SECONDS + 30))
while (($(pool_starts) < 2 && SECONDS < deadline)); do sleep 0.05; done
if (($(pool_starts) >= 2)); then
  pass "the root restarted the pool"
else
  fail "the pool was not restarted"; grep '\[pool\]' "$WORK/err2" | tail -5
fi
if kill -0 "$pid" 2>/dev/null; then
  pass "the app keeps running"
else
  fail "the app exited"
fi
expect_eq "w2 still never restarted" "$(svc "$url" w2 restarts)" 0
kill -TERM "$pid"
wait "$pid"
expect_exit "second app drains and exits 0" "$?" 0 "$WORK/err2"

finish
