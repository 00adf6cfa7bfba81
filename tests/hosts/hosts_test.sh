#!/usr/bin/env bash
# Many hosts on one machine: Linux network namespaces made here, linked by
# veth pairs to a private bridge that lives in a namespace of its own (the
# machine's own network is never touched, and only addresses inside these
# namespaces are used). Four "hosts", each running `troupe run` from an app
# file and reaching the others by name (/etc/netns/NS/hosts):
#   producer  (tests/hosts/producer.toml: the demo's generator + aggregator)
#   proxy     (tests/hosts/proxy.toml: a pipeline proxy)
#   consumer1, consumer2 (tests/hosts/consumer.toml: the demo's workers)
# Jobs go producer -> proxy -> consumers, results consumers -> producer.
# Checks: results come back through the proxy, both consumer hosts work and
# announce themselves to the producer (heartbeats on the results link), the
# proxy's statistics (read over its control plane inside its namespace)
# count the jobs; a partition (consumer1's link down for 10 s) heals by
# itself: consumer2 takes the jobs meanwhile, the producer's heartbeats
# mark consumer1 lost and then back, consumer1 gets jobs again after, the
# producer's `block` PUSH of jobs drops nothing over the cut (its
# troupe_bridge_dropped_total for `jobs` stays 0 for every reason), and
# consumer1 counts the ticks it missed on PUB/SUB as `meta = true`
# sequence gaps (some, not a number checked against the producer's, which
# is only printed: see the PUB/SUB step), consumer2 none;
# `kill -9` of consumer2's troupe: the producer sees it lost, its /health
# degrades, and its unanswered jobs are handed out again; consumer2 started
# again is heard and used again; killed and restarted at once (within
# peer_timeout, as systemd would), the restart still counts as a loss
# (heartbeats carry the process's run) and its jobs go out again; the proxy
# host's troupe killed and started again: every other host reconnects by
# itself and the jobs lost in the proxy go out again (redispatch_after);
# SIGTERM drains
# the producer with every job accounted for (missing 0: nothing lost over
# the partition nor with the killed host), and every other process exits 0.
# Needs root, network namespaces and python3; otherwise exits 77 (ctest:
# skipped).
# Everything made here is removed on exit, also after a failure; what a
# run killed outright (SIGKILL) left is removed by the next run.
# Usage: hosts_test.sh PATH/TO/troupe
source "$(dirname "$0")/../process/lib.sh"
TROUPE="$(realpath "$1")"
HERE="$(cd "$(dirname "$0")" && pwd)"

SKIP=77
# A python3 to read the control planes (urllib only; pyzmq is not used).
PY=""
for cand in /usr/bin/python3 python3; do
  if "$cand" -c 'import urllib.request' 2>/dev/null; then PY="$cand"; break; fi
done
if [[ -z "$PY" ]]; then
  echo "SKIP - needs python3 to read the hosts' control planes"; exit $SKIP
fi
if [[ $EUID -ne 0 ]]; then
  echo "SKIP - needs root for network namespaces"; exit $SKIP
fi
hosts=(producer proxy consumer1 consumer2)
# remove_run TAG: kills the processes inside TAG's namespaces, removes them
# and their /etc/netns entries (the bridge and veth ends go with TAGsw).
remove_run() {
  local h ns p
  for h in "${hosts[@]}" sw; do
    ns="$1$h"
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p"; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
}
# What an earlier run left when it was killed outright (SIGKILL, e.g. by a
# ctest timeout), which no trap sees: namespaces named after this test
# and a pid that no longer runs. A run still going is left alone.
for old in $(ip netns list 2>/dev/null | awk '{print $1}' |
             sed -nE 's/^trh([0-9]+)(sw|producer|proxy|consumer1|consumer2)$/\1/p' |
             sort -u); do
  kill -0 "$old" 2>/dev/null && continue
  echo "    removing the namespaces left by an earlier run (pid $old, gone)"
  remove_run "trh$old"
done
TAG="trh$$"
if ! ip netns add "${TAG}sw" 2>"$WORK/netns.err"; then
  echo "SKIP - network namespaces not permitted here: $(cat "$WORK/netns.err")"
  exit $SKIP
fi

declare -A ip_of=([producer]=10.77.0.1 [proxy]=10.77.0.2
                  [consumer1]=10.77.0.3 [consumer2]=10.77.0.4)
[[ -d /etc/netns ]] && etc_netns_existed=1 || etc_netns_existed=0
cleanup() {
  # Only processes inside the namespaces made here.
  remove_run "$TAG"
  ((etc_netns_existed)) || rmdir /etc/netns 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# The switch: a bridge in its own namespace.
sw="${TAG}sw"
ip -n "$sw" link add br0 type bridge &&
  ip -n "$sw" link set br0 up || { fail "no bridge"; finish; exit 1; }
hosts_file="127.0.0.1 localhost"
for h in "${hosts[@]}"; do
  hosts_file+=$'\n'"${ip_of[$h]} $h"
done
for h in "${hosts[@]}"; do
  ns="${TAG}$h"
  ip netns add "$ns" || { fail "netns $ns"; finish; exit 1; }
  # `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts.
  mkdir -p "/etc/netns/$ns"
  echo "$hosts_file" >"/etc/netns/$ns/hosts"
  ip -n "$sw" link add "v$h" type veth peer name eth0 netns "$ns" &&
    ip -n "$sw" link set "v$h" master br0 up &&
    ip -n "$ns" addr add "${ip_of[$h]}/24" dev eth0 &&
    ip -n "$ns" link set eth0 up &&
    ip -n "$ns" link set lo up || { fail "link for $h"; finish; exit 1; }
done
pass "4 hosts on a private bridge"
# Small TCP send buffers on the producer host (this namespace's own
# setting; the machine's is untouched), so that a subscriber cut off for
# 10 s fills them and the PUB endpoint's queue, and misses ticks.
ip netns exec "${TAG}producer" sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" ||
  { fail "tcp_wmem in the producer namespace"; finish; exit 1; }

# run_on HOST CMD...: runs CMD inside HOST's namespace.
run_on() { local h="$1"; shift; ip netns exec "${TAG}$h" "$@"; }
# start HOST APP [ARGS...]: `troupe run APP` on HOST, logs in $WORK/HOST.*;
# its pid in pid_HOST (`ip netns exec` execs troupe: the pid is troupe's).
start() {
  local h="$1" app="$2"; shift 2
  ip netns exec "${TAG}$h" "$TROUPE" run "$app" "$@" \
    >"$WORK/$h.out" 2>"$WORK/$h.err" &
  eval "pid_$h=$!"
}
await() { # HOST APPNAME
  if wait_for_line "$WORK/$1.err" "app '$2' running" 30; then
    pass "$1 runs"
  else
    fail "$1 never reported running"; quote 20 "$WORK/$1.err"
    finish; exit 1
  fi
}

run_on proxy getent hosts producer >"$WORK/resolve" 2>&1
expect_grep "host names resolve inside a namespace" "$WORK/resolve" \
  '^10\.77\.0\.1 +producer'

start proxy "$HERE/proxy.toml"
await proxy hub
start consumer1 "$HERE/consumer.toml" --set services.worker_bridge.source_id=consumer1
start consumer2 "$HERE/consumer.toml" --set services.worker_bridge.source_id=consumer2
start producer "$HERE/producer.toml"
await consumer1 consumer
await consumer2 consumer
await producer producer

if wait_for_line "$WORK/producer.err" 'throughput [1-9][0-9]* results/s' 30; then
  pass "results come back to the producer through the proxy"
else
  fail "no results at the producer"; quote 20 "$WORK/producer.err"
fi

for h in consumer1 consumer2; do
  if wait_for_line "$WORK/producer.err" "peer '$h' seen \(via controller_bridge/results\)" 30; then
    pass "$h announces itself to the producer on the results link"
  else
    fail "the producer never heard $h"; quote 20 "$WORK/producer.err"
  fi
done

# http_get HOST PATH: the body (whatever the status) from HOST's control
# plane, asked from inside its namespace.
http_get() {
  run_on "$1" "$PY" -c 'import sys, urllib.request as u, urllib.error as e
try: print(u.urlopen("http://127.0.0.1:8180" + sys.argv[1], timeout=10).read().decode())
except e.HTTPError as x: print(x.read().decode())' "$2"
}
# metric HOST NAME LABEL...: the first sample of NAME with every LABEL (fixed
# strings) from HOST's control plane.
metric() {
  local h="$1" name="$2" out
  shift 2
  out=$(http_get "$h" /metrics | grep "^$name{")
  for l in "$@"; do out=$(grep -F "$l" <<<"$out"); done
  awk '{print $NF}' <<<"$out" | head -1
}
through=$(metric proxy troupe_proxy_messages_total 'direction="out",side="backend"')
if [[ "$through" =~ ^[0-9]+$ ]] && ((through > 0)); then
  pass "the proxy counts jobs through it ($through)"
else
  fail "proxy statistics: '$through'"
fi

# jobs_at HOST: jobs its bridge received so far.
jobs_at() {
  local v
  v=$(metric "$1" troupe_bridge_received_total 'endpoint="jobs"')
  echo "${v:-0}"
}
# await_more HOST N WHAT: until HOST received more than N jobs (bounded).
await_more() {
  local deadline=$((SECONDS + 60)) n
  while ((SECONDS < deadline)); do
    n=$(jobs_at "$1")
    ((${n%.*} > $2)) && { pass "$3 ($2 -> $n)"; return 0; }
    sleep 0.2
  done
  fail "$3: still $n"
}

# A partition: consumer1's link is down for 10 s, then up again. TCP would
# keep the connections through it; the app files set ZMTP heartbeats
# (zmtp_heartbeat_ivl 1s, timeout 3s) on both sides of every link, so
# consumer1's connections are closed after 3 s of silence (the producer's
# results endpoint counts the closed one) and made again by ZMQ once the
# link is back: the partition heals by reconnects. The proxy hands jobs to
# consumer2 meanwhile, and consumer1 gets jobs again, without a restart.
closed_before=$(metric producer troupe_bridge_peer_disconnects_total 'endpoint="results"')
ip -n "$sw" link set vconsumer1 down
c1=$(jobs_at consumer1) c2=$(jobs_at consumer2)
pass "consumer1 cut off (link down)"
sleep 10 # the partition itself, not a wait for an event
closed_after=$(metric producer troupe_bridge_peer_disconnects_total 'endpoint="results"')
if [[ "$closed_before" =~ ^[0-9]+$ && "$closed_after" =~ ^[0-9]+$ ]] &&
  ((closed_after > closed_before)); then
  pass "the producer closed consumer1's silent connection (ZMTP heartbeat; disconnects $closed_before -> $closed_after)"
else
  fail "no connection closed during the cut: disconnects '$closed_before' -> '$closed_after'"
fi
await_more consumer2 "${c2%.*}" "consumer2 takes jobs during the partition"
expect_grep "the producer's heartbeats mark consumer1 lost" "$WORK/producer.err" \
  "peer 'consumer1': no heartbeat on 'results'"
c1_cut=$(jobs_at consumer1)
ip -n "$sw" link set vconsumer1 up
await_more consumer1 "${c1_cut%.*}" "consumer1 gets jobs again after the partition"
echo "    consumer1 received $c1 before, $c1_cut during the cut"
if wait_for_line "$WORK/producer.err" "peer 'consumer1' back on 'results'" 30; then
  pass "the producer's heartbeats mark consumer1 up again"
else
  fail "consumer1 never came back at the producer"; quote 20 "$WORK/producer.err"
fi
# `block` PUSH/PULL loses nothing over the cut: the producer's jobs
# endpoint dropped no message for any reason (queue_full would be the
# one under block). Every reason's sample must be there, so that a
# missing series cannot read as 0.
http_get producer /metrics |
  grep -F 'troupe_bridge_dropped_total{' | grep -F 'endpoint="jobs"' >"$WORK/jobs_dropped"
jobs_reasons=$(wc -l <"$WORK/jobs_dropped")
jobs_dropped=$(awk '{n += $NF} END {print n + 0}' "$WORK/jobs_dropped")
if ((jobs_reasons >= 5)) && [[ "$jobs_dropped" == 0 ]]; then
  pass "the producer's block PUSH of jobs dropped nothing across the cut ($jobs_reasons reasons, all 0)"
else
  fail "the producer's jobs endpoint dropped $jobs_dropped ($jobs_reasons reason samples)"
  quote "$WORK/jobs_dropped"
fi

# PUB/SUB over the partition: the producer sent past consumer1 while it was
# cut off; consumer1 counts what it missed as sequence gaps once ticks reach
# it again; consumer2 missed nothing. (The producer's own slow_subscriber
# count is printed, not checked: it counts the first message sent past a
# full subscriber only, since libzmq then sets that pipe aside and later
# sends succeed without it — a known undercount on the send side.)
sleep 1 # ticks after the partition, which show consumer1 the gap
gaps1=$(metric consumer1 troupe_bridge_sequence_gaps_total 'endpoint="events"')
gaps2=$(metric consumer2 troupe_bridge_sequence_gaps_total 'endpoint="events"')
past=$(metric producer troupe_bridge_dropped_total 'endpoint="events"' \
  'reason="slow_subscriber"')
echo "    ticks: consumer1 gaps $gaps1, consumer2 gaps $gaps2, producer sent past $past"
if [[ "$gaps1" =~ ^[0-9]+$ ]] && ((gaps1 > 0)); then
  pass "consumer1 counts the ticks it missed as sequence gaps ($gaps1)"
else
  fail "consumer1 sequence gaps: '$gaps1'"
fi
expect_eq "consumer2 missed no tick" "$gaps2" "0"

# kill -9 of a worker host's process: the jobs it held are handed out again.
kill -9 "$pid_consumer2"
wait "$pid_consumer2" 2>/dev/null
pass "consumer2's troupe killed (SIGKILL)"
if wait_for_line "$WORK/producer.err" "worker process 'consumer2' lost on 'results'" 30; then
  pass "the producer sees consumer2 lost and hands its jobs out again"
else
  fail "consumer2 never reported lost"; quote 20 "$WORK/producer.err"
fi
http_get producer /health >"$WORK/health"
expect_grep "the producer's /health shows the silent link degraded" \
  "$WORK/health" "no heartbeat on 'results'"
alive=$(metric producer troupe_bridge_peer_alive 'peer="consumer2"')
expect_eq "troupe_bridge_peer_alive for consumer2" "$alive" "0"
c1=$(jobs_at consumer1)
await_more consumer1 "${c1%.*}" "consumer1 goes on alone"

# The host comes back: a new process under the same source_id (as systemd
# would start it) is heard again and gets jobs through the proxy, with no
# restart anywhere else.
start consumer2 "$HERE/consumer.toml" --set services.worker_bridge.source_id=consumer2
await consumer2 consumer
if wait_for_line "$WORK/producer.err" "peer 'consumer2' back on 'results'" 30; then
  pass "the producer hears consumer2 again"
else
  fail "consumer2 never came back at the producer"; quote 20 "$WORK/producer.err"
fi
await_more consumer2 0 "consumer2 gets jobs again"

# kill -9 and an immediate restart (systemd's Restart=): what the old
# process held is gone. When the new process's heartbeats come within
# peer_timeout, they carry a new run and the producer sees the restart as a
# loss; when its start takes longer (a sanitizer build on a loaded
# machine), the old one is first seen silent. Either way the producer
# reports consumer2 lost a second time and hands the jobs out again.
kill -9 "$pid_consumer2"
wait "$pid_consumer2" 2>/dev/null
start consumer2 "$HERE/consumer.toml" --set services.worker_bridge.source_id=consumer2
pass "consumer2 killed (SIGKILL) and started again at once"
lost_lines=0 deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  lost_lines=$(grep -c "worker process 'consumer2' lost on 'results'" "$WORK/producer.err")
  ((lost_lines >= 2)) && break
  sleep 0.1
done
if grep -q "peer 'consumer2' restarted" "$WORK/producer.err"; then
  pass "the producer sees consumer2's restart as a loss (new run)"
elif ((lost_lines >= 2)); then
  pass "the producer sees consumer2's restart as a loss (silent past peer_timeout)"
else
  fail "consumer2's restart went unnoticed"; quote 20 "$WORK/producer.err"
fi
expect_eq "the producer handed consumer2's jobs out again after each kill" \
  "$lost_lines" "2"
await consumer2 consumer
c2=$(jobs_at consumer2)
await_more consumer2 "${c2%.*}" "the restarted consumer2 gets jobs"

# The proxy host's app is killed and started again: the producer's and the
# consumers' connecting endpoints find it by themselves (ZMQ reconnects,
# reconnect_ivl; by name), with no restart anywhere else. What died inside
# the proxy no heartbeat can tell; the producer's redispatch_after hands
# those jobs out again.
kill -9 "$pid_proxy"
wait "$pid_proxy" 2>/dev/null
pass "the proxy's troupe killed (SIGKILL)"
c1=$(jobs_at consumer1) c2=$(jobs_at consumer2)
start proxy "$HERE/proxy.toml"
await proxy hub
await_more consumer1 "${c1%.*}" "consumer1 gets jobs through the restarted proxy (reconnected)"
await_more consumer2 "${c2%.*}" "consumer2 gets jobs through the restarted proxy (reconnected)"
through=$(metric proxy troupe_proxy_messages_total 'direction="in",side="frontend"')
if [[ "$through" =~ ^[0-9]+$ ]] && ((through > 0)); then
  pass "the producer reconnected to the restarted proxy ($through jobs in)"
else
  fail "restarted proxy statistics: '$through'"
fi
sleep 6 # past redispatch_after: what died in the proxy goes out again

kill -TERM "$pid_producer"
wait "$pid_producer"
expect_exit "the producer drains and exits 0" "$?" 0 "$WORK/producer.err"
expect_grep "every job accounted for, none missing" "$WORK/producer.err" \
  'accounting: produced [1-9][0-9]* = results [0-9]+ \+ failed 0 \+ missing 0'
grep -E "accounting:|at-least-once:" "$WORK/producer.err" | sed 's/^/    | /'
for h in consumer1 consumer2 proxy; do
  eval "p=\$pid_$h"
  kill -TERM "$p"
  wait "$p"
  expect_exit "$h exits 0 on SIGTERM" "$?" 0 "$WORK/$h.err"
done
expect_final_in "consumer1 took jobs" "$WORK/consumer1.out" worker_bridge
finish
