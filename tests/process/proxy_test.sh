#!/usr/bin/env bash
# apps/examples/proxy.toml under `troupe run`, with pyzmq peers on both sides
# of each proxy: pubsub (the subscription reaches the publisher through the
# proxy, every message arrives), pipeline with CURVE on the frontend (every
# job delivered once to two workers, nothing from a client with another key
# or none), a second pipeline with CURVE on the backend (a worker with the
# allowed key gets every job; one with another key and a plaintext one are
# refused and get none; the refusal by key is counted in
# troupe_proxy_auth_denied_total{side="backend"}), requests (REQ ->
# ROUTER/DEALER -> two REP servers, every answer right). ZMQ's statistics
# show in /metrics and the status over the control plane; a reload pauses
# and resumes a proxy; SIGTERM stops cleanly.
# Usage: proxy_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
N=500

need_pyzmq
peer() { "$PY" "$HERE/proxy_peer.py" "$@"; }
mkdir -p "$WORK/keys"
peer keys "$WORK/keys" || { fail "cannot write keys"; finish; exit 1; }
client_pub=$(tail -1 "$WORK/keys/client.pub")
worker_pub=$(tail -1 "$WORK/keys/worker.pub")

declare -A addr
for p in events_front events_back jobs_front jobs_back calls_front calls_back \
         tasks_front tasks_back; do
  addr[$p]="tcp://127.0.0.1:$(free_port)"
done
http=$(free_port)
URL="http://127.0.0.1:$http"
cp "$EXAMPLES/proxy.toml" "$WORK/app.toml"
# A fourth proxy, a pipeline whose backend is a CURVE server that allows
# only the worker's key (the frontend stays plaintext).
cat >>"$WORK/app.toml" <<EOF

[services.tasks]
type = "proxy"
mode = "pipeline"
frontend.bind = "${addr[tasks_front]}"
backend.bind = "${addr[tasks_back]}"
backend.curve_secret_key_file = "$WORK/keys/server.key"
backend.curve_allowed_clients = ["$worker_pub"]
stats_interval = "100ms"
EOF
args=(--set "control.http=127.0.0.1:$http"
      --set "services.jobs.frontend.curve_secret_key_file=$WORK/keys/server.key"
      --set "services.jobs.frontend.curve_allowed_clients=[\"$client_pub\"]")
for svc in events jobs calls; do
  args+=(--set "services.$svc.frontend.bind=${addr[${svc}_front]}"
         --set "services.$svc.backend.bind=${addr[${svc}_back]}"
         --set "services.$svc.stats_interval=100ms")
done
"$TROUPE" run "$WORK/app.toml" "${args[@]}" >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running proxy 20

run_peer() {
  local what="$1"; shift
  if peer "$@" >"$WORK/peer" 2>&1; then
    pass "$what: $(grep -c '^ok' "$WORK/peer") checks"
  else
    fail "$what:"; quote "$WORK/peer"
  fi
}
run_peer "pubsub through the proxy" \
  pubsub "${addr[events_front]}" "${addr[events_back]}" "$N"
run_peer "pipeline through the proxy (CURVE frontend)" \
  pipeline "${addr[jobs_front]}" "${addr[jobs_back]}" "$N" "$WORK/keys"
run_peer "pipeline through the proxy (CURVE backend)" \
  backend_curve "${addr[tasks_front]}" "${addr[tasks_back]}" "$N" "$WORK/keys"
run_peer "requests through the proxy" \
  requests "${addr[calls_front]}" "${addr[calls_back]}" 100

# ZMQ's STATISTICS, read every 100ms, in /metrics and the status.
m=troupe_proxy_messages_total
run_peer "events statistics in /metrics" \
  metrics "$URL" $m events frontend in "$N"
run_peer "events subscription counted on the backend" \
  metrics "$URL" $m events backend in 1
run_peer "jobs statistics in /metrics" \
  metrics "$URL" $m jobs backend out "$N"
run_peer "calls statistics in /metrics (requests and replies)" \
  metrics "$URL" $m calls backend in 100
run_peer "refused CURVE client counted" \
  metrics "$URL" troupe_proxy_auth_denied_total jobs frontend - 1
run_peer "refused CURVE worker counted on the backend" \
  metrics "$URL" troupe_proxy_auth_denied_total tasks backend - 1
run_peer "the allowed worker's jobs counted on the backend" \
  metrics "$URL" $m tasks backend out "$N"
run_peer "jobs statistics in the status" \
  status "$URL" jobs backend.messages_out "$N"

# A reload that sets paused = true holds the traffic; false resumes it.
sed -i '/^\[services.calls\]/a paused = true' "$WORK/app.toml"
kill -HUP "$pid"
run_peer "reload pauses the proxy" status "$URL" calls paused true
run_peer "paused gauge" metrics "$URL" troupe_proxy_paused calls - - 1
peer paused "${addr[calls_front]}" "${addr[calls_back]}" "$WORK/marker" \
  >"$WORK/paused" 2>&1 &
paused_pid=$!
if wait_for_line "$WORK/paused" '^ok a paused proxy forwards nothing' 20; then
  pass "a paused proxy forwards nothing"
else
  fail "paused proxy:"; quote "$WORK/paused"
fi
sed -i '/^paused = true$/d' "$WORK/app.toml"
kill -HUP "$pid"
run_peer "reload resumes the proxy" status "$URL" calls paused false
if wait "$paused_pid"; then
  pass "the held request is answered after resume"
else
  fail "resume:"; quote "$WORK/paused"
fi
run_peer "requests flow again after resume" \
  requests "${addr[calls_front]}" "${addr[calls_back]}" 10

kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM stops the app cleanly" "$?" 0 "$WORK/err"
expect_grep "final status shows the proxies stopped" "$WORK/out" \
  '^jobs +proxy +stopped'
expect_grep "the pipeline proxy logs its final counts" "$WORK/err" \
  "\[jobs\] proxy stopped: frontend in $N "
finish
