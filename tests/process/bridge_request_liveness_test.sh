#!/usr/bin/env bash
# Liveness on a request link between two `troupe run` processes (issue 23
# item 2): a client app whose dealer endpoint heartbeats, a server app
# with a router endpoint that answers the beats. Each sees the other; the
# server killed (SIGKILL) is lost at the client (/health degraded); started
# again it is heard again (the dealer reconnects); stopped with SIGTERM it
# says goodbye to its client, which reports it gone, not lost, and stays
# healthy.
# Usage: bridge_request_liveness_test.sh PATH/TO/troupe
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
need_pyzmq # a python3 for the HTTP check

rpc=$(free_port) http=$(free_port)
cat >"$WORK/server.toml" <<EOF
[app]
name = "server"

[services.server_bridge]
type = "bridge"
source_id = "server"
heartbeat_interval = "200ms"
peer_timeout = "1s"

[services.server_bridge.endpoints.rpc]
socket = "router"
bind = "tcp://127.0.0.1:$rpc"
EOF
cat >"$WORK/client.toml" <<EOF
[app]
name = "client"

[control]
http = "127.0.0.1:$http"

[services.client_bridge]
type = "bridge"
source_id = "client"
heartbeat_interval = "200ms"
peer_timeout = "1s"

[services.client_bridge.endpoints.calls]
socket = "dealer"
connect = ["tcp://127.0.0.1:$rpc"]
heartbeat = true
reconnect_ivl = "100ms"
EOF

# start NAME: `troupe run` of NAME.toml, logs in $WORK/NAME.err, pid in
# pid_NAME; waits until it runs.
start() {
  "$TROUPE" run "$WORK/$1.toml" >"$WORK/$1.out" 2>"$WORK/$1.err" &
  eval "pid_$1=$!"
  if wait_for_line "$WORK/$1.err" "app '$1' running" 30; then
    pass "$1 runs"
  else
    fail "$1 never reported running"; quote 20 "$WORK/$1.err"
    finish; exit 1
  fi
}
# saw WHAT FILE PATTERN: PATTERN appears in FILE within 10 s.
saw() {
  if wait_for_line "$2" "$3" 10; then
    pass "$1"
  else
    fail "$1"; quote 20 "$2"
  fi
}
health() {
  "$PY" -c 'import sys, urllib.request as u, urllib.error as e
try: print(u.urlopen(sys.argv[1], timeout=10).read().decode())
except e.HTTPError as x: print(x.read().decode())' "http://127.0.0.1:$http/health"
}

start server
start client
saw "the client hears the server (answers to its beats)" "$WORK/client.err" \
  "peer 'server' seen \(via client_bridge/calls\)"
saw "the server hears the client on its router" "$WORK/server.err" \
  "peer 'client' seen \(via server_bridge/rpc\)"

kill -9 "$pid_server"
wait "$pid_server" 2>/dev/null
saw "the killed server is lost at the client" "$WORK/client.err" \
  "peer 'server': no heartbeat on 'calls'"
health >"$WORK/health1"
expect_grep "the client's /health shows the silent link" "$WORK/health1" \
  "no heartbeat on 'calls'"

start server
saw "the server started again is heard again (the dealer reconnected)" \
  "$WORK/client.err" "peer 'server' back on 'calls'"

kill -TERM "$pid_server"
wait "$pid_server"
expect_exit "the server drains and exits 0 on SIGTERM" "$?" 0 "$WORK/server.err"
expect_grep "the server says goodbye to its client" "$WORK/server.err" \
  "said goodbye to peers on rpc"
saw "the client hears the goodbye: gone, not lost" "$WORK/client.err" \
  "peer 'server' said goodbye on 'calls' \(stopped on purpose\)"
sleep 2 # twice peer_timeout: no loss follows the goodbye
losses=$(grep -c "peer 'server': no heartbeat" "$WORK/client.err")
expect_eq "no loss reported after the goodbye (only the kill's)" "$losses" 1
health >"$WORK/health2"
if grep -q "no heartbeat" "$WORK/health2"; then
  fail "the client's /health still shows a loss"; quote "$WORK/health2"
else
  pass "the client's /health is clear of the server"
fi

kill -TERM "$pid_client"
wait "$pid_client"
expect_exit "the client exits 0 on SIGTERM" "$?" 0 "$WORK/client.err"
finish
