#!/usr/bin/env bash
# A bridge push endpoint that connects by host name to two PULL peers
# (separate processes): both get messages; one is killed (SIGKILL) and the
# other keeps getting messages meanwhile, while those already queued for the
# lost one wait; it comes back at the same address and, without a restart of
# the app, ZMQ reconnects (reconnect_ivl): it gets the held messages and its
# share of new ones. No message is lost or duplicated over the whole run.
# Last, a bind to a host name fails the start with a clear error.
# Usage: bridge_reconnect_test.sh PATH/TO/troupe
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
HERE="$(cd "$(dirname "$0")" && pwd)"
N=300

need_pyzmq
peer() { "$PY" "$HERE/reconnect_peer.py" "$@"; }
pa=$(free_port) pb=$(free_port)
in_addr="tcp://127.0.0.1:$(free_port)"
http=$(free_port)
sinks=()
trap 'kill -9 "${sinks[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT
start_sink() { # NAME PORT
  # python itself in the background (not a function's subshell): its pid
  # is what gets killed.
  "$PY" "$HERE/reconnect_peer.py" sink "tcp://127.0.0.1:$2" "$WORK/$1.out" \
    >"$WORK/$1.log" 2>&1 &
  sinks+=($!)
  eval "$1_pid=$!"
}
# wait_total N: until the sinks hold N messages together (bounded).
wait_total() {
  local deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    (($(cat "$WORK"/*.out 2>/dev/null | grep -cv accepted) >= $1)) && return 0
    sleep 0.05
  done
  return 1
}

cat >"$WORK/app.toml" <<TOML
[app]
name = "reconnect"

[services.echo]
type = "echo"

[services.bridge]
type = "bridge"
depends_on = ["echo"]
heartbeat_interval = "0s"

[services.bridge.endpoints.in]
socket = "pull"
bind = "$in_addr"

[services.bridge.endpoints.out]
socket = "push"
connect = ["tcp://localhost:$pa", "tcp://localhost:$pb"]
topics = ["echo.reply"]
reconnect_ivl = "100ms"
reconnect_ivl_max = "400ms"
TOML

start_sink a "$pa"
start_sink b "$pb"
"$TROUPE" run "$WORK/app.toml" --set "control.http=127.0.0.1:$http" \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running reconnect 20
expect_grep "connected by host name" "$WORK/err" \
  "endpoint 'out': push connected to tcp://localhost:$pa"
if wait_for_line "$WORK/a.out" accepted 10 &&
   wait_for_line "$WORK/b.out" accepted 10; then
  pass "both peers connected"
else
  fail "peers not connected"; quote "$WORK/err"
fi

# 1. Both peers up: the messages are spread over both.
peer send "$in_addr" 0 "$N"
wait_total "$N" || fail "phase 1: only $(cat "$WORK"/*.out | grep -cv accepted) of $N arrived"
a1=$(grep -cv accepted "$WORK/a.out") b1=$(grep -cv accepted "$WORK/b.out")
if ((a1 > 0 && b1 > 0)); then pass "both peers got messages ($a1 + $b1)"; else
  fail "one peer got nothing: a=$a1 b=$b1"; fi

# 2. Peer b is killed. ZMQ keeps the pipe of a connect address while it
# reconnects: messages the bridge already handed to it wait there for b
# (nothing is lost); the rest go to a.
kill -9 "$b_pid"
wait "$b_pid" 2>/dev/null
mv "$WORK/b.out" "$WORK/b1.out"
peer send "$in_addr" "$N" $((2 * N))
# sent_total counts what the bridge handed to ZMQ on `out`.
sent=0
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)); do
  sent=$("$PY" -c 'import sys, urllib.request as u
print(u.urlopen(sys.argv[1], timeout=10).read().decode())' \
    "http://127.0.0.1:$http/metrics" |
    awk '/^troupe_bridge_sent_total\{.*endpoint="out"/ {print $NF}')
  [[ "$sent" == $((2 * N)) ]] && break
  sleep 0.05
done
expect_eq "the bridge hands all $((2 * N)) to ZMQ while b is away" "$sent" \
  $((2 * N))
deadline=$((SECONDS + 20))
while (($(grep -cv accepted "$WORK/a.out") == a1 && SECONDS < deadline)); do
  sleep 0.05
done
a2=$(grep -cv accepted "$WORK/a.out")
if ((a2 > a1)); then pass "a keeps getting messages with b gone"; else
  fail "a got nothing with b gone"; fi

# 3. Peer b comes back at the same address: used again, no restart.
start_sink b "$pb"
if wait_for_line "$WORK/b.out" accepted 10; then
  pass "the app reconnected to the peer that came back"
else
  fail "no reconnect to b"; quote 10 "$WORK/err"
fi
peer send "$in_addr" $((2 * N)) $((3 * N))
wait_total $((3 * N)) ||
  fail "phase 3: only $(cat "$WORK"/*.out | grep -cv accepted) of $((3 * N)) arrived"
b3=$(grep -cv accepted "$WORK/b.out")
a3=$(grep -cv accepted "$WORK/a.out")
if ((b3 > 0)); then
  pass "the peer that came back gets messages again ($b3; a got $((a3 - a1)) since b left)"
else
  fail "b got nothing after it came back"
fi

# Every message exactly once over the run.
cat "$WORK"/a.out "$WORK"/b1.out "$WORK"/b.out | grep -v accepted | sort -n \
  >"$WORK/all"
seq 0 $((3 * N - 1)) >"$WORK/want"
if cmp -s "$WORK/all" "$WORK/want"; then
  pass "all $((3 * N)) messages delivered exactly once"
else
  fail "delivered set differs: $(wc -l <"$WORK/all") lines"
  diff "$WORK/want" "$WORK/all" | head -5
fi
expect_eq "process is the same (no restart)" "$(kill -0 "$pid" && echo alive)" alive

kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM stops the app cleanly" "$?" 0 "$WORK/err"

# bind takes an address, not a host name: the app says so and exits 1.
sed -i "s|^bind = \"$in_addr\"|bind = \"tcp://localhost:$(free_port)\"|" \
  "$WORK/app.toml"
timeout 30 "$TROUPE" run "$WORK/app.toml" >"$WORK/out2" 2>"$WORK/err2"
expect_exit "bind with a host name fails the start" "$?" 1 "$WORK/err2"
expect_grep "and says why" "$WORK/err2" \
  "endpoint 'in': bind tcp://localhost:[0-9]+: No such device \(bind takes an IP address, a network interface name or \*, not a host name"
finish
