#!/usr/bin/env bash
# The command transcripts of docs/operations.md, run against a real `troupe
# run` and compared with what the doc shows (tests/process/doc_transcripts.py
# finds them, runs each command through bash with `troupe` on PATH and the
# doc's 127.0.0.1:8080 replaced by the app's control plane, and normalises
# only what varies: column widths, uptimes, message counts). One ok/FAIL
# line per command. A transcript this script has no app for fails, so a new
# one in the doc cannot go untested.
# Usage: doc_transcript_test.sh PATH/TO/troupe PATH/TO/docs
source "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TROUPE="$(realpath "$1")"
DOC="$(realpath "$2")/operations.md"
PY=$(command -v python3)
unset TROUPE_CONTROL_URL TROUPE_CONTROL_TOKEN TROUPE_CONTROL_CACERT

# `troupe` in the commands is the binary under test.
mkdir -p "$WORK/bin" "$WORK/run"
ln -s "$TROUPE" "$WORK/bin/troupe"

# transcript ID: runs it in $WORK/run against the app on $http; counts each
# command's ok/FAIL line.
transcript() {
  "$PY" "$HERE/doc_transcripts.py" run "$DOC" "$1" --port "${http:-8080}" \
    --cwd "$WORK/run" --bin "$WORK/bin" >"$WORK/transcript" 2>&1
  cat "$WORK/transcript"
  local n
  n=$(grep -c '^ok ' "$WORK/transcript"); passes=$((passes + n))
  n=$(grep -c '^FAIL' "$WORK/transcript"); failures=$((failures + n))
  if ! grep -q '^ok \|^FAIL' "$WORK/transcript"; then
    fail "$1: nothing ran"
  fi
}

# start_app FILE NAME: runs FILE with the control plane on a free port
# ($http), its pid in `pid`.
start_app() {
  http=$(free_port)
  : >"$WORK/out"
  : >"$WORK/err"
  "$TROUPE" run "$1" --set "control.http=127.0.0.1:$http" \
    >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  await_running "$2" 30
}

stop_app() {
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  expect_exit "SIGTERM stops the app (0)" "$?" 0 "$WORK/err"
}

# The app the control-plane transcripts show: a ticker `tick` and a counter
# `count` that depends on it.
cat >"$WORK/shop.toml" <<'TOML'
[app]
name = "shop"
status_interval = "60s"

[services.tick]
type = "ticker"
period = "250ms"

[services.count]
type = "counter"
depends_on = ["tick"]
TOML

# An app for the paging example: more running counters than one page of 100,
# named as the doc names them (c0000, c0001, ...); the doc's 20,000 would
# only slow the test down (X-Total-Count is normalised).
{
  echo '[app]'
  echo 'name = "many"'
  echo 'status_interval = "60s"'
  for i in $(seq 0 119); do
    printf '[services.c%04d]\ntype = "counter"\n' "$i"
  done
} >"$WORK/many.toml"

# The files the bag transcript opens: a bag whose SQLite header promises 4
# pages of 4096 bytes cut to 8192 bytes, a CSV file, and an SQLite database
# that is no bag.
make_bag_files() {
  "$PY" - "$WORK/run" <<'PY'
import os, sqlite3, sys
d = sys.argv[1]
def db(name, tables):
    path = os.path.join(d, name)
    c = sqlite3.connect(path)
    c.execute("PRAGMA page_size = 4096")
    for t in tables:
        c.execute(t)
    c.commit()
    c.close()
    return path
t = db("truncated.bag", [
    "CREATE TABLE troupe_bag (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, recv_ns INTEGER, "
    "topic BLOB, payload BLOB, meta BLOB)"])
assert os.path.getsize(t) == 16384, os.path.getsize(t)
os.truncate(t, 8192)
db("other.db", ["CREATE TABLE things (x)"])
with open(os.path.join(d, "csv.bag"), "w") as f:
    f.write("topic,payload\nresults.0,{}\n")
PY
}

ran=()
while read -r id line first; do
  ran+=("$id")
  echo "# transcript $id (docs/operations.md:$line)"
  case "$id" in
    troupe-ctl.1)
      start_app "$WORK/shop.toml" shop
      # Setup, not in the transcript: the doc begins with count stopped.
      "$TROUPE" ctl --url "127.0.0.1:$http" stop count >"$WORK/ctl" 2>&1
      expect_exit "setup: count stopped" "$?" 0 "$WORK/ctl"
      transcript "$id"
      stop_app ;;
    troupe-ctl.2)
      # Nothing listens on 127.0.0.1:1.
      http="" transcript "$id" ;;
    dependencies-at-run-time.1)
      start_app "$WORK/shop.toml" shop
      transcript "$id"
      stop_app ;;
    filters-and-pages.1)
      start_app "$WORK/many.toml" many
      transcript "$id"
      stop_app ;;
    the-file-format.1)
      make_bag_files
      http="" transcript "$id" ;;
    *)
      fail "transcript $id at docs/operations.md:$line ($first) has no app in this test: add one" ;;
  esac
done < <("$PY" "$HERE/doc_transcripts.py" list "$DOC")

# The doc must still hold the transcripts this test was written for.
for want in troupe-ctl.1 troupe-ctl.2 dependencies-at-run-time.1 \
  filters-and-pages.1 the-file-format.1; do
  if [[ " ${ran[*]} " != *" $want "* ]]; then
    fail "transcript $want is gone from docs/operations.md"
  fi
done

finish
