#!/usr/bin/env bash
# troupe record / replay / bag info against real apps:
#  1. the demo's bridge publishes its workers' results (results.*); `troupe record`
#     stores them (docs/examples/record_replay.sh, as docs/operations.md
#     shows it), rotating files each second; `troupe replay` sends the bag to
#     a fresh app whose aggregator then counts exactly the recorded results;
#  2. replay timing: a bag recorded from `troupe pub --rate 10` replayed with
#     --rate 2 arrives with half the median gap (generous bounds);
#  3. --loop sends the bag again until stopped; SIGINT stops record cleanly;
#     --topic sends only some topics;
#  4. a truncated bag and files of another format are refused, naming what
#     is wrong.
#  Part 1 also has an endpoint whose recording is stuck (its bag locked by
#  another writer): it still takes every message, and what the recording
#  lost is counted in /metrics.
#   record_replay_test.sh TROUPE APPS_DIR DOCS_EXAMPLES_DIR
TROUPE="$1"
APPS="$2"
EXAMPLES="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
need_pyzmq # for free_port; sqlite3 is in python's standard library

mkdir -p "$WORK/bin"
ln -s "$TROUPE" "$WORK/bin/troupe"
export PATH="$WORK/bin:$PATH"
cd "$WORK" || exit 1

# bag_json FILE KEY: a top-level value of `troupe bag info --json`.
bag_json() {
  "$TROUPE" bag info "$1" --json | "$PY" -c "import json, sys; print(json.load(sys.stdin)['$2'])"
}

# lock_bag FILE UNLOCK OUT: in the background, another writer takes the
# bag's write lock (printing "locked" to OUT) and holds it until the file
# UNLOCK exists.
lock_bag() {
  "$PY" - "$1" "$2" >"$3" 2>&1 <<'EOF' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=20)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
deadline = time.monotonic() + 90
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.05)
db.execute("ROLLBACK")
EOF
}

# -- 1. demo -> record -> replay -> fresh app --------------------------------

target=$(free_port)
target_http=$(free_port)
target2=$(free_port)
cat >"$WORK/target.toml" <<EOF
[app]
name = "target"

[control]
http = "127.0.0.1:$target_http"

[services.aggregator]
type = "aggregator"
topic = "results."
report_interval = "200ms"

[services.bridge]
type = "bridge"
depends_on = ["aggregator"]

[services.bridge.endpoints.results]
socket = "pull"
bind = "tcp://127.0.0.1:$target"
# The bridge records what it receives, too: the same writer as troupe record.
record = "$WORK/target.bag"
record_max_duration = "500ms"

# Part 5: a second endpoint whose recording gets stuck.
[services.bridge.endpoints.more]
socket = "pull"
bind = "tcp://127.0.0.1:$target2"
record = "$WORK/stall.bag"
EOF
"$TROUPE" run "$WORK/target.toml" >"$WORK/target.out" 2>"$WORK/target.err" &
target_pid=$!

start_demo "$APPS" \
  --set 'services.controller_bridge.endpoints.stats.topics=["demo.stats","results."]'
if ! wait_for_line "$WORK/target.err" "app 'target' running" 20; then
  fail "the target app never reported running"; quote 20 "$WORK/target.err"
fi

DEMO_PUB="tcp://127.0.0.1:$stats" TARGET="tcp://127.0.0.1:$target" \
  bash "$EXAMPLES/record_replay.sh" >"$WORK/example.out" 2>"$WORK/example.err"
expect_exit "docs/examples/record_replay.sh runs" "$?" 0 "$WORK/example.err"
expect_grep "record stopped after --duration with nothing dropped" \
  "$WORK/example.err" 'record: done: [1-9][0-9]* received, [0-9]+ written .* 0 dropped'
expect_grep "bag info lists the results topics" "$WORK/example.out" \
  '^  results\.[0-9] +[1-9][0-9]* +[0-9.]+ (B|KiB|MiB)$'
expect_grep "... the duration" "$WORK/example.out" '^duration: +[0-9]+\.[0-9]{3} s$'
expect_grep "... the files and their sizes" "$WORK/example.out" \
  '^  results\.bag\.1 +[1-9][0-9]* messages +[0-9.]+ KiB$'
expect_grep "... the bytes in all" "$WORK/example.out" \
  '^messages: +[1-9][0-9]* \([0-9.]+ (KiB|MiB) of topics, payloads and meta\)$'
"$TROUPE" bag info results.bag --json >"$WORK/results.json"
"$PY" - "$WORK/results.json" <<'EOF' && pass "record --topic results. left out demo.stats" || fail "record --topic: other topics in the bag"
import json, sys
topics = json.load(open(sys.argv[1]))["topics"]
sys.exit(0 if topics and all(t.startswith("results.") for t in topics) else 1)
EOF
recorded=$(bag_json results.bag messages)
files=$("$TROUPE" bag info results.bag --json | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["files"]))')
if [[ "$recorded" =~ ^[0-9]+$ ]] && ((recorded > 100)); then
  pass "the demo's results were recorded ($recorded messages)"
else
  fail "recorded '$recorded' messages"; quote 20 "$WORK/example.err"
fi
if [[ "$files" =~ ^[0-9]+$ ]] && ((files >= 2)) && [[ -f results.bag.1 ]]; then
  pass "the recording rotated at --max-seconds 1 ($files files)"
else
  fail "files: '$files'"; ls -l "$WORK" | quote 20 /dev/stdin
fi
expect_grep "replay sent every recorded message" "$WORK/example.err" \
  "replay: sent $recorded message\\(s\\)"

# The fresh app's aggregator reports "N done, M failed" every 200 ms.
counted=""
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)); do
  counted=$(grep -Eo '[0-9]+ done, [0-9]+ failed' "$WORK/target.err" | tail -n 1 |
    awk '{print $1 + $3}')
  [[ "$counted" == "$recorded" ]] && break
  sleep 0.2
done
expect_eq "the fresh app's aggregator counts the recorded results" \
  "$counted" "$recorded"
# /metrics: what the endpoint recorded, and that nothing was dropped.
# metric NAME [ENDPOINT]: a series of the target's bridge endpoint (results).
metric() {
  "$PY" - "http://127.0.0.1:$target_http/metrics" "$1" "${2:-results}" <<'EOF'
import re, sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
m = re.search(r"^" + sys.argv[2] + r'\{[^}]*endpoint="' + sys.argv[3] + r'"[^}]*\} (\S+)$', text, re.M)
print(int(float(m.group(1))) if m else "none")
EOF
}
written=""
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)); do
  written=$(metric troupe_bridge_record_written_total)
  [[ "$written" == "$recorded" ]] && break
  sleep 0.2
done
expect_eq "record = FILE on the endpoint: written, in /metrics" "$written" "$recorded"
expect_eq "... none dropped, in /metrics" \
  "$(metric troupe_bridge_record_dropped_total)" 0
demo_done=$(grep -Eo '[0-9]+ done, [0-9]+ failed' "$WORK/err" | tail -n 1 |
  awk '{print $1 + $3}')
if [[ "$demo_done" =~ ^[0-9]+$ ]] && ((demo_done >= recorded)); then
  pass "the demo counted at least as many ($demo_done >= $recorded)"
else
  fail "demo counted '$demo_done', recorded $recorded"
fi
kill -TERM "$pid"
wait "$pid"
expect_exit "the demo exits 0" "$?" 0 "$WORK/err"

# A stuck recording does not hold the endpoint back.

# Another writer holds stall.bag's write lock: the endpoint's bag writer
# waits for it (5 s), then gives up. Meanwhile the endpoint takes every
# message (the live path never waits for the disk); the messages the
# recording lost are counted in /metrics. The lock is let go only then.
lock_bag "$WORK/stall.bag" "$WORK/unlock" "$WORK/locker.out"
locker=$!
if wait_for_line "$WORK/locker.out" "locked" 20; then
  pass "another writer holds stall.bag's lock"
else
  fail "could not lock stall.bag"; quote 20 "$WORK/locker.out"
fi
troupe replay results.bag --to "tcp://127.0.0.1:$target2" --max-rate \
  2>"$WORK/stall_replay.err"
expect_exit "replay into the endpoint whose recording is stuck" "$?" 0 \
  "$WORK/stall_replay.err"
# await_metric NAME ENDPOINT VALUE SECONDS: polls until the series is VALUE.
await_metric() {
  local deadline=$((SECONDS + $4)) got=""
  while ((SECONDS < deadline)); do
    got=$(metric "$1" "$2")
    [[ "$got" == "$3" ]] && break
    sleep 0.2
  done
  echo "$got"
}
expect_eq "the endpoint took every message while its bag was locked" \
  "$(await_metric troupe_bridge_received_total more "$recorded" 20)" \
  "$recorded"
expect_eq "... every one the recording lost is in /metrics" \
  "$(await_metric troupe_bridge_record_dropped_total more "$recorded" 30)" \
  "$recorded"
expect_eq "... none written" "$(metric troupe_bridge_record_written_total more)" 0
touch "$WORK/unlock"
wait "$locker"

kill -TERM "$target_pid"
wait "$target_pid"
expect_exit "the target app exits 0" "$?" 0 "$WORK/target.err"
expect_eq "the endpoint's bag holds every replayed message" \
  "$(bag_json "$WORK/target.bag" messages)" "$recorded"
target_files=$("$TROUPE" bag info "$WORK/target.bag" --json |
  "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["files"]))')
if [[ "$target_files" =~ ^[0-9]+$ ]] && ((target_files >= 2)); then
  pass "the endpoint's recording rotated at record_max_duration ($target_files files)"
else
  fail "the endpoint's recording: '$target_files' file(s)"
fi
expect_grep "the bridge logs what it recorded" "$WORK/target.err" \
  "endpoint 'results': recorded $recorded message\\(s\\) in $target_files file\\(s\\) from .*target.bag, 0 dropped"
expect_grep "... and what it lost, with the reason" "$WORK/target.err" \
  "endpoint 'more': record: .*stall.bag: database is locked"
expect_grep "... counted" "$WORK/target.err" \
  "endpoint 'more': recorded 0 message\\(s\\) in 1 file\\(s\\) from .*stall.bag, $recorded dropped"

# -- 2. replay timing on medians ---------------------------------------------

# median_gap_ms FILE: the median gap between receive times in a bag (python's
# sqlite3 reads it directly: the format is plain SQLite).
median_gap_ms() {
  "$PY" - "$1" <<'EOF'
import sqlite3, statistics, sys
t = [r[0] for r in sqlite3.connect(sys.argv[1]).execute(
    "SELECT recv_ns FROM messages ORDER BY id")]
print(round(statistics.median(b - a for a, b in zip(t, t[1:])) / 1e6, 3))
EOF
}

in1=$(free_port)
troupe record "tcp://127.0.0.1:$in1" --socket pull --bind -o paced.bag \
  --status 0s 2>"$WORK/rec1.err" &
rec=$!
wait_for_line "$WORK/rec1.err" "writing paced.bag" 10
# The bag is read while it is recorded: a reader that keeps its read open
# through the recording (as any SQLite tool may) and `troupe bag info` must
# not stop it (every message written and none dropped, checked below).
"$PY" - paced.bag >"$WORK/reader.out" 2>&1 <<'EOF' &
import sqlite3, sys, time
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True,
                     isolation_level=None)
db.execute("BEGIN")
n = db.execute("SELECT count(*) FROM messages").fetchone()[0]
print("reading (%d messages)" % n, flush=True)
time.sleep(3)
db.execute("COMMIT")
EOF
reader=$!
wait_for_line "$WORK/reader.out" "reading" 10
troupe pub "tcp://127.0.0.1:$in1" paced.tick '{"n": 1}' --count 30 --rate 10 \
  --meta 2>"$WORK/pub.err"
expect_exit "pub sends 30 paced messages" "$?" 0 "$WORK/pub.err"
troupe bag info paced.bag >"$WORK/live_info.out" 2>&1
expect_exit "bag info reads the bag while it is recorded" "$?" 0 \
  "$WORK/live_info.out"
wait "$reader"
expect_exit "a reader kept its read open during the recording" "$?" 0 \
  "$WORK/reader.out"
# PULL got them all once pub returned (it waits for the peer to take each).
kill -INT "$rec"
wait "$rec"
expect_exit "record stops cleanly on SIGINT" "$?" 0 "$WORK/rec1.err"
expect_grep "record's summary on SIGINT" "$WORK/rec1.err" \
  'record: done: 30 received, 30 written .* 0 dropped, 0 malformed'

in2=$(free_port)
troupe record "tcp://127.0.0.1:$in2" --socket pull --bind -o fast.bag \
  --status 0s 2>"$WORK/rec2.err" &
rec=$!
wait_for_line "$WORK/rec2.err" "writing fast.bag" 10
troupe replay paced.bag --to "tcp://127.0.0.1:$in2" --rate 2 2>"$WORK/rep.err"
expect_exit "replay --rate 2" "$?" 0 "$WORK/rep.err"
kill -TERM "$rec"
wait "$rec"
expect_exit "record stops cleanly on SIGTERM" "$?" 0 "$WORK/rec2.err"
expect_eq "every replayed message arrived" "$(bag_json fast.bag messages)" 30
orig=$(median_gap_ms paced.bag)
fast=$(median_gap_ms fast.bag)
# Recorded at 10/s (100 ms); replayed twice as fast: about 50 ms. Generous:
# anything between a third and two thirds of the original gap. Gaps this
# wide keep the median out of reach of a loaded machine's scheduling stalls
# (at 50/s, a run beside other builds got 2.3 ms: messages received in
# bursts).
if "$PY" -c "import sys; o, f = $orig, $fast; sys.exit(0 if o / 3 <= f <= o * 2 / 3 else 1)"; then
  pass "replay --rate 2 halves the median gap ($orig ms -> $fast ms)"
else
  fail "median gap $orig ms recorded, $fast ms replayed with --rate 2"
fi
"$PY" - paced.bag fast.bag <<'EOF' && pass "replay keeps topic, payload and meta" || fail "replayed messages differ"
import sqlite3, sys
q = "SELECT topic, payload, meta FROM messages ORDER BY id"
a, b = (list(sqlite3.connect(f).execute(q)) for f in sys.argv[1:])
sys.exit(0 if a == b and len(a) == 30 and all(m for _, _, m in a) else 1)
EOF

# -- 3. --loop until stopped, --max-rate --------------------------------------

in3=$(free_port)
troupe record "tcp://127.0.0.1:$in3" --socket pull --bind -o loop.bag \
  --status 0s --count 150 2>"$WORK/rec3.err" &
rec=$!
wait_for_line "$WORK/rec3.err" "writing loop.bag" 10
troupe replay paced.bag --to "tcp://127.0.0.1:$in3" --max-rate --loop \
  --timeout 2s 2>"$WORK/loop.err" &
rep=$!
wait "$rec"
expect_exit "record stops after --count 150" "$?" 0 "$WORK/rec3.err"
kill -INT "$rep" 2>/dev/null
wait "$rep"
rc=$?
# Ctrl-C while looping exits 0; a send that timed out (the recorder left
# first) exits 1: both are a stopped replay, as long as it looped.
if ((rc == 0 || rc == 1)) && grep -Eq 'sent [0-9]+ message\(s\) .* [3-9][0-9]* pass\(es\)|sent [0-9]+ message\(s\) .* [1-9][0-9]+ pass\(es\)' "$WORK/loop.err"; then
  pass "replay --loop sent the bag at least three times"
else
  fail "replay --loop: exit $rc"; quote "$WORK/loop.err"
fi
expect_eq "the looped messages were recorded" "$(bag_json loop.bag messages)" 150

# --topic: only the topics with that prefix go out (the recorder stops at
# their count: any other topic among them fails the check).
want=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["topics"]["results.1"]["messages"])' "$WORK/results.json")
in4=$(free_port)
troupe record "tcp://127.0.0.1:$in4" --socket pull --bind -o one.bag \
  --status 0s --count "$want" --duration 60s 2>"$WORK/rec4.err" &
rec=$!
wait_for_line "$WORK/rec4.err" "writing one.bag" 10
troupe replay results.bag --to "tcp://127.0.0.1:$in4" --max-rate \
  --topic results.1 2>"$WORK/topic.err"
expect_exit "replay --topic results.1" "$?" 0 "$WORK/topic.err"
expect_grep "... sent that topic's messages" "$WORK/topic.err" \
  "replay: sent $want message\\(s\\)"
wait "$rec"
expect_exit "record stops after --count $want" "$?" 0 "$WORK/rec4.err"
"$TROUPE" bag info one.bag --json >"$WORK/one.json"
"$PY" - "$WORK/one.json" "$want" <<'EOF' && pass "only results.1 was replayed ($want messages)" || { fail "replay --topic results.1: other topics"; quote 20 "$WORK/one.json"; }
import json, sys
topics = json.load(open(sys.argv[1]))["topics"]
sys.exit(0 if list(topics) == ["results.1"] and
         topics["results.1"]["messages"] == int(sys.argv[2]) else 1)
EOF

# -- 4. bad files are refused ------------------------------------------------

size=$(stat -c %s paced.bag)
head -c $((size / 2)) paced.bag >truncated.bag
"$TROUPE" bag info truncated.bag >/dev/null 2>"$WORK/bad1.err"
expect_exit "bag info refuses a truncated bag" "$?" 1
expect_grep "... naming the file and the truncation" "$WORK/bad1.err" \
  "^bag info: truncated.bag: truncated: the SQLite header says $size bytes, the file has $((size / 2))\$"
printf 'topic,payload\nx,{}\n' >csv.bag
"$TROUPE" replay csv.bag --to "tcp://127.0.0.1:$in3" 2>"$WORK/bad2.err"
expect_exit "replay refuses a file of another format" "$?" 1
expect_grep "... saying it is not a bag" "$WORK/bad2.err" \
  '^replay: csv.bag: not a troupe bag: not an SQLite 3 database'
"$PY" -c "import sqlite3; c = sqlite3.connect('other.db'); c.execute('CREATE TABLE t (x)'); c.commit()"
"$TROUPE" bag info other.db 2>"$WORK/bad3.err"
expect_exit "bag info refuses an SQLite file that is not a bag" "$?" 1
expect_grep "... saying what is missing" "$WORK/bad3.err" \
  'other.db: not a troupe bag: an SQLite database without a troupe_bag header table'
"$TROUPE" record "tcp://127.0.0.1:$in3" -o paced.bag --status 0s \
  --duration 1ms 2>"$WORK/bad4.err"
expect_exit "record refuses to overwrite a bag without --overwrite" "$?" 1
expect_grep "... naming the file" "$WORK/bad4.err" 'paced.bag: exists; not overwritten'
# A recording that cannot write (its bag locked by another writer for
# longer than the writer waits) stops at once with the reason, exit 1.
in5=$(free_port)
troupe record "tcp://127.0.0.1:$in5" --socket pull --bind -o locked.bag \
  --status 0s 2>"$WORK/rec5.err" &
rec=$!
wait_for_line "$WORK/rec5.err" "writing locked.bag" 10
lock_bag locked.bag "$WORK/unlock5" "$WORK/locker5.out"
locker=$!
wait_for_line "$WORK/locker5.out" "locked" 20
troupe pub "tcp://127.0.0.1:$in5" x.y '{}' --count 5 2>"$WORK/pub5.err"
deadline=$((SECONDS + 40))
while ((SECONDS < deadline)) && kill -0 "$rec" 2>/dev/null; do sleep 0.2; done
if kill -0 "$rec" 2>/dev/null; then
  fail "record still runs 40 s after its bag could not be written"
  kill -INT "$rec"
fi
wait "$rec"
expect_exit "record stops when its bag cannot be written" "$?" 1 "$WORK/rec5.err"
expect_grep "... saying why" "$WORK/rec5.err" '^record: locked.bag: database is locked$'
expect_grep "... and what was lost" "$WORK/rec5.err" \
  '^record: done: 5 received, 0 written .* 5 dropped'
touch "$WORK/unlock5"
wait "$locker"

"$TROUPE" replay paced.bag --to "tcp://127.0.0.1:$in3" --rate 0 2>"$WORK/bad5.err"
expect_exit "replay --rate 0 is a usage error" "$?" 2
expect_grep "... saying what is wanted" "$WORK/bad5.err" \
  "^--rate: expected a number above 0, got '0'$"
"$TROUPE" record "tcp://127.0.0.1:$in3" -o never.bag --max-seconds -1 \
  2>"$WORK/bad6.err"
expect_exit "record --max-seconds -1 is a usage error" "$?" 2
expect_grep "... saying what is wanted" "$WORK/bad6.err" \
  "^--max-seconds: expected a number of 0 or more, got '-1'$"
finish
