#!/usr/bin/env bash
# Two `troupe run` processes over tcp. A: `troupe pub` PUSHes N messages into
# bridge `src`; bridge `out` sends local load.* on a PUB and a PUSH endpoint
# with meta frames. B: bridge `in` receives both (SUB, PULL) under
# local_prefix b.events. / b.work.; bridge `mirror` PUBlishes b.* to a
# `troupe tap`. Checks: N in = N out on each path, 0 gaps, nothing dropped.
# Usage: bridge_two_process_test.sh PATH/TO/troupe
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
N=5000
PY=/usr/bin/python3
command -v "$PY" >/dev/null || PY=python3

feed="tcp://127.0.0.1:$(free_port)"
events="tcp://127.0.0.1:$(free_port)"
work="tcp://127.0.0.1:$(free_port)"
mirror="tcp://127.0.0.1:$(free_port)"

cat >"$WORK/a.toml" <<TOML
[app]
name = "sender"
[services.out]
type = "bridge"
source_id = "sender"
[services.out.endpoints.events]
socket = "pub"
bind = "$events"
topics = ["load."]
meta = true
[services.out.endpoints.work]
socket = "push"
bind = "$work"
topics = ["load."]
meta = true
[services.src]
type = "bridge"
depends_on = ["out"]
heartbeat_interval = "0s"
[services.src.endpoints.feed]
socket = "pull"
bind = "$feed"
TOML
cat >"$WORK/b.toml" <<TOML
[app]
name = "receiver"
[services.mirror]
type = "bridge"
[services.mirror.endpoints.tap]
socket = "pub"
bind = "$mirror"
topics = ["b."]
[services.in]
type = "bridge"
depends_on = ["mirror"]
heartbeat_interval = "0s"
[services.in.endpoints.events]
socket = "sub"
connect = ["$events"]
topics = ["load."]
meta = true
local_prefix = "b.events."
[services.in.endpoints.work]
socket = "pull"
connect = ["$work"]
meta = true
local_prefix = "b.work."
TOML

stop_all() { kill -9 "${a:-}" "${b:-}" "${tap:-}" 2>/dev/null; }
"$TROUPE" run "$WORK/a.toml" >"$WORK/a.out" 2>"$WORK/a.err" &
a=$!
"$TROUPE" run "$WORK/b.toml" >"$WORK/b.out" 2>"$WORK/b.err" &
b=$!
# The tap subscribes to heartbeats too: the first one proves that its
# subscription is in place before any data flows.
"$TROUPE" tap "$mirror" --topic b. --topic troupe.heartbeat \
  >"$WORK/tap" 2>"$WORK/tap.err" &
tap=$!
# B hears A's heartbeat on the SUB endpoint: B's subscriptions are in place.
if ! wait_for_line "$WORK/b.err" "peer 'sender' seen \(via in/events\)" 20 ||
  ! wait_for_line "$WORK/tap" '^troupe\.heartbeat  ' 20; then
  stop_all
  fail "processes never connected"
  quote 20 "$WORK/a.err" "$WORK/b.err"
  finish; exit 1
fi
pass "sender, receiver and tap connected"

"$TROUPE" pub "$feed" load.x '{"k": 1}' --count "$N" >"$WORK/pub" 2>&1
expect_eq "troupe pub sends $N" "$?" "0"

# Wait until the tap printed every message of both paths (bounded).
deadline=$((SECONDS + 60))
count() { grep -c "^$1  " "$WORK/tap"; }
while ((SECONDS < deadline)); do
  (($(count 'b\.events\.load\.x') >= N && $(count 'b\.work\.load\.x') >= N)) &&
    break
  sleep 0.1
done
expect_eq "pub/sub path: messages out = in" "$(count 'b\.events\.load\.x')" "$N"
expect_eq "push/pull path: messages out = in" "$(count 'b\.work\.load\.x')" "$N"

kill -TERM "$tap" "$b"
wait "$tap"
wait "$b"
expect_eq "receiver stops cleanly" "$?" "0"
kill -TERM "$a"
wait "$a"
expect_eq "sender stops cleanly" "$?" "0"

# Final counters of both processes.
stats() { grep -o "\[$2\] final stats {.*" "$1" | sed 's/^.*final stats //'; }
stats "$WORK/a.err" out >"$WORK/a_out.json"
stats "$WORK/a.err" src >"$WORK/a_src.json"
stats "$WORK/b.err" in >"$WORK/b_in.json"
"$PY" - "$WORK" "$N" <<'PYEOF' >"$WORK/check" 2>&1
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
def eps(name):
    return {e["name"]: e for e in json.load(open(f"{work}/{name}.json"))["endpoints"]}
src, out, inn = eps("a_src"), eps("a_out"), eps("b_in")
def check(what, got, want):
    print(("ok  " if got == want else "BAD ") + f"{what}: {got} (want {want})")
check("sender feed received", src["feed"]["received"], n)
check("sender work sent", out["work"]["sent"], n)
check("receiver work received", inn["work"]["received"], n)
for ep in ("events", "work"):
    check(f"sender {ep} dropped", out[ep]["dropped"], 0)
    check(f"receiver {ep} gaps", inn[ep]["gaps"], 0)
    check(f"receiver {ep} malformed", inn[ep]["malformed_total"], 0)
# events also carries heartbeats: data = received minus what was not load.*
check("receiver events received >= data", inn["events"]["received"] >= n, True)
PYEOF
if grep -q '^BAD' "$WORK/check" || ! grep -q '^ok' "$WORK/check"; then
  fail "counters:"; quote "$WORK/check"
else
  pass "counters: $(grep -c '^ok' "$WORK/check") checks"
fi
finish
