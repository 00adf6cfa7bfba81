#!/usr/bin/env bash
# Every command of docs/operations.md, run (issue 21). The command
# transcripts run against a real `troupe run` and are compared with what the
# doc shows (tests/process/doc_transcripts.py finds them, runs each command
# through bash with `troupe` on PATH and the doc's 127.0.0.1:8080 replaced by
# the app's control plane, and normalises only what varies: column widths,
# uptimes, message counts). The ```sh blocks that show no output (routes,
# /logs, TLS, systemd) run too: each command must exit 0 and print no
# {"error"...} body, and what the prose says they answer is checked.
# systemctl/journalctl cannot run here (no systemd as PID 1): they are a
# fixed list of `skip` lines. One ok/FAIL/skip line per command. Every
# ```sh and ```text block of the doc is run here or listed below as no
# command (a usage synopsis, an example of output) or as run by another
# test: a new or changed block this script does not know fails.
# Usage: doc_transcript_test.sh PATH/TO/troupe PATH/TO/docs
source "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TROUPE="$(realpath "$1")"
DOC="$(realpath "$2")/operations.md"
PY=$(command -v python3)
unset TROUPE_CONTROL_URL TROUPE_CONTROL_TOKEN TROUPE_CONTROL_CACERT

EXAMPLES="$(realpath "$2")/examples"
CURL=$(command -v curl)
TOKEN_VALUE="doc-s3cret-token"

# `troupe` in the commands is the binary under test. `curl` is the real one;
# with --save (DOC_SAVE set) it also dumps the headers it got to a file,
# for the status codes the doc's commands do not print.
mkdir -p "$WORK/bin" "$WORK/run"
ln -s "$TROUPE" "$WORK/bin/troupe"
cat >"$WORK/bin/curl" <<SH
#!/usr/bin/env bash
if [[ -n "\${DOC_SAVE:-}" ]]; then exec "$CURL" -D "\$DOC_SAVE.headers" "\$@"; fi
exec "$CURL" "\$@"
SH
chmod +x "$WORK/bin/curl"

# transcript ID [OPTION...]: runs block ID in $WORK/run (or --cwd) against
# the app on $http (doc_transcripts.py run's options pass on); counts each
# command's ok/FAIL line.
transcript() {
  "$PY" "$HERE/doc_transcripts.py" run "$DOC" "$1" --port "${http:-8080}" \
    --cwd "$WORK/run" --bin "$WORK/bin" "${@:2}" >"$WORK/transcript" 2>&1
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

# A ticker alone, for the routes (`tick`, and `tick2` added and removed).
cat >"$WORK/tick.toml" <<'TOML'
[app]
name = "shop"
status_interval = "60s"

[services.tick]
type = "ticker"
period = "250ms"
TOML

# The app the control-plane transcripts show: that ticker `tick` and a
# counter `count` that depends on it.
{
  cat "$WORK/tick.toml"
  cat <<'TOML'

[services.count]
type = "counter"
depends_on = ["tick"]
TOML
} >"$WORK/shop.toml"

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


# expect_answer WHAT DIR REGEX CODE PYEXPR: the one command saved in DIR
# (doc_transcripts.py --save) whose text matches REGEX got the HTTP status
# CODE (its last in the dumped headers; "" for any) and PYEXPR is true of
# its output (`body`: the text, `j`: it as JSON or None, `heads`: the
# headers).
expect_answer() {
  if "$PY" - "$2" "$3" "$4" "$5" >"$WORK/answer" 2>&1 <<'PY'; then
import json, re, sys
d, rx, code, expr = sys.argv[1:]
rows = [l.rstrip("\n").split("\t", 2) for l in open(d + "/index")]
hits = [r for r in rows if re.search(rx, r[2])]
if len(hits) != 1:
    sys.exit(f"{len(hits)} commands of the block match /{rx}/, expected 1")
n = hits[0][0]
body = open(f"{d}/{n}.out", encoding="utf-8", errors="replace").read()
try:
    heads = open(f"{d}/{n}.headers", encoding="latin-1").read()
except FileNotFoundError:
    heads = ""
statuses = re.findall(r"^HTTP/\S+ (\d{3})", heads, re.M)
# The JSON answer: the output, or its last line that is JSON (curl without
# -s also prints its progress meter, on stderr, when not on a terminal).
j = None
for text in [body] + [l for l in reversed(body.split("\n")) if l.startswith(("[", "{"))]:
    try:
        j = json.loads(text)
        break
    except ValueError:
        pass
try:
    good = bool(eval(expr))
except Exception as e:
    good = False
    print(f"{type(e).__name__}: {e}")
if code and statuses[-1:] != [code]:
    print(f"HTTP status {statuses[-1:]}, expected {code}")
elif not good:
    print(f"not true of the answer: {expr}")
else:
    sys.exit(0)
print("command: " + hits[0][2])
print(heads[:1500] + body[:2500])
sys.exit(1)
PY
    pass "$1"
  else
    fail "$1"; quote "$WORK/answer"
  fi
}

# Blocks that are no command to run: ID, then its first line (a changed
# block needs a new look).
declare -A NOT_COMMANDS=(
  [logs.1]="2026-12-06 16:03:42.954 info  [troupe] app 'shop' running; Ctrl-C stops"
  [troupe-ctl.1]="troupe ctl [--url URL] [--token T] [--cacert PEM] [--json] [--timeout S] COMMAND"
  [record-and-replay.2]="bag:        results.bag (troupe.bag version 1, recording 37bae0cff4ecb308)"
  [troupe-record.1]="troupe record ENDPOINT -o FILE [--topic PREFIX]... [--socket sub|pull] [--bind]"
  [troupe-replay.1]="troupe replay FILE --to ENDPOINT [--rate X | --max-rate] [--loop]"
)
declare -A WHY_NOT=(
  [logs.1]="example log lines"
  [troupe-ctl.1]="usage synopsis"
  [record-and-replay.2]="example output of bag info (a recording's own figures)"
  [troupe-record.1]="usage synopsis"
  [troupe-replay.1]="usage synopsis"
)

# The lines of the systemd block that cannot run here: they need systemd as
# PID 1 and root. A line of the block neither run nor listed here fails.
cat >"$WORK/systemd.skip" <<'LIST'
systemctl daemon-reload && systemctl enable --now troupe-shop.service
systemctl reload troupe-shop.service     # SIGHUP: reload the app file
systemctl stop troupe-shop.service       # SIGTERM: graceful stop
journalctl -u troupe-shop.service
LIST

# routes.1: every command against the ticker app; the one with $TOKEN
# against the same app with [control] token = $TOKEN. The answers the
# route table promises are checked from the saved outputs and headers.
routes_block() {
  local id="$1" d="$WORK/routes"
  start_app "$WORK/tick.toml" shop
  transcript "$id" --exclude '\$TOKEN' --save "$d"
  expect_answer "$id: GET /services: 200, the services in start order" "$d" \
    '/services$' 200 \
    'isinstance(j, list) and [s["name"] for s in j] == ["tick"] and j[0]["state"] == "running"'
  expect_answer "$id: GET /services/tick: 200, its status" "$d" \
    '/services/tick$' 200 \
    'j["name"] == "tick" and j["type"] == "ticker" and j["state"] == "running" and j["health"] == "healthy"'
  expect_answer "$id: the /health line prints the HTTP code, 200 (ready)" "$d" \
    '/health$' 200 'body == "200\n"'
  expect_answer "$id: GET /metrics: 200, Prometheus text 0.0.4" "$d" \
    '/metrics$' 200 \
    're.search(r"(?im)^content-type: text/plain; version=0.0.4", heads) and re.search(r"(?m)^troupe_service_up\{service=\"tick\"\} 1$", body)'
  expect_answer "$id: POST restart: 200 with tick's status, running, restarted once" \
    "$d" 'tick/restart$' 200 \
    'j["name"] == "tick" and j["state"] == "running" and j["restarts"] == 1'
  expect_answer "$id: POST /services: 201 with tick2's status, started" "$d" \
    '-X POST \S*/services +-H' 201 \
    'j["name"] == "tick2" and j["type"] == "ticker" and j["state"] == "running"'
  expect_answer "$id: DELETE tick2: 200 {name, removed, message}" "$d" \
    '-X DELETE .*/services/tick2$' 200 \
    'j["name"] == "tick2" and j["removed"] == ["tick2"] and j["message"]'
  stop_app

  rm -rf "$d"
  TROUPE_CONTROL__TOKEN=$TOKEN_VALUE start_app "$WORK/tick.toml" shop
  TOKEN=$TOKEN_VALUE transcript "$id" --include '\$TOKEN' --save "$d"
  expect_answer "$id: GET /services with the token: 200" "$d" \
    'Bearer \$TOKEN' 200 'isinstance(j, list) and j[0]["name"] == "tick"'
  # The token is what let it in.
  code=$("$CURL" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/services")
  expect_eq "$id: the same app without the token: 401" "$code" 401
  stop_app
}

# dashboard.1, the /logs line: against an app with a token, as $TOKEN.
logs_block() {
  local id="$1" d="$WORK/logs"
  TROUPE_CONTROL__TOKEN=$TOKEN_VALUE start_app "$WORK/tick.toml" shop
  TOKEN=$TOKEN_VALUE transcript "$id" --save "$d"
  expect_answer "$id: GET /logs?tail=20: 200, at most 20 records oldest first, total, capacity 500" \
    "$d" 'logs\?tail=20' 200 \
    '0 < len(j["lines"]) <= 20 and all(set(x) >= {"at", "level", "logger", "message"} for x in j["lines"]) and [x["at"] for x in j["lines"]] == sorted(x["at"] for x in j["lines"]) and j["total"] >= len(j["lines"]) and j["capacity"] == 500 and any(x["logger"] == "troupe" for x in j["lines"])'
  stop_app
}

# access.1, the TLS block, as written in a folder of its own holding
# app.toml: openssl makes cert.pem and key.pem, `troupe run app.toml --set
# control.tls_cert=... --set control.tls_key=...` runs in the background
# (the token from TROUPE_CONTROL__TOKEN, as the doc advises; ctl reads it
# from TROUPE_CONTROL_TOKEN), curl and ctl ask it over https, SIGTERM stops
# it.
tls_block() {
  local id="$1" dir="$WORK/tls" d="$WORK/tls-out"
  if ! command -v openssl >/dev/null; then
    fail "$id: the openssl command is needed"; return
  fi
  mkdir -p "$dir"
  http=$(free_port)
  cat >"$dir/app.toml" <<TOML
[app]
name = "shop"
status_interval = "60s"

[control]
http = "127.0.0.1:$http"

[services.tick]
type = "ticker"
period = "250ms"
TOML
  TOKEN=$TOKEN_VALUE TROUPE_CONTROL__TOKEN=$TOKEN_VALUE \
    TROUPE_CONTROL_TOKEN=$TOKEN_VALUE \
    transcript "$id" --cwd "$dir" --background '^troupe run ' \
    --ready "app 'shop' running" --save "$d"
  expect_grep "$id: the app serves https" "$dir/background.2.log" \
    "control plane on https://127.0.0.1:$http"
  expect_answer "$id: curl --cacert over https: 200, the services" "$d" \
    '^curl --cacert' 200 'isinstance(j, list) and j[0]["name"] == "tick"'
  expect_answer "$id: troupe ctl --cacert status: tick running" "$d" \
    '^troupe ctl --url https' "" \
    're.search(r"(?m)^tick +ticker +running +healthy", body)'
}

# systemd.1: `troupe systemd` on a real app file at $WORK/srv/shop/app.toml,
# the unit into $WORK/etc (not /etc); the unit must be the doc's (paths
# aside) and pass systemd-analyze verify. systemctl/journalctl: skip lines.
systemd_block() {
  local id="$1" unit="$WORK/etc/troupe-shop.service"
  mkdir -p "$WORK/srv/shop" "$WORK/etc"
  cat >"$WORK/srv/shop/app.toml" <<'TOML'
[app]
name = "shop"
log_file = "/var/log/shop/app.log"

[services.tick]
type = "ticker"
TOML
  transcript "$id" --run-only '^troupe systemd ' --skip "$WORK/systemd.skip" \
    --replace "/srv/shop/=$WORK/srv/shop/" \
    --replace "/etc/systemd/system/=$WORK/etc/"
  if grep -qx '\[Unit\]' "$unit" && grep -qx '\[Service\]' "$unit" &&
    grep -qx "ExecStart=.* run $WORK/srv/shop/app.toml" "$unit"; then
    pass "$id: the output is a unit ([Unit], [Service], ExecStart)"
  else
    fail "$id: the output is no unit"; quote "$unit"
  fi
  # The doc's unit, for /srv/shop/app.toml and /usr/bin/troupe.
  awk '/^## systemd/ {s = 1} s && /^```ini/ {f = 1; next}
       f && /^```/ {exit} f' "$DOC" >"$WORK/doc-unit"
  sed -e "s#$WORK/srv/shop#/srv/shop#g" \
    -e "s#^ExecStart=[^ ]* run #ExecStart=/usr/bin/troupe run #" \
    "$unit" >"$WORK/got-unit"
  if [[ -s "$WORK/doc-unit" ]] &&
    diff "$WORK/doc-unit" "$WORK/got-unit" >"$WORK/unit-diff"; then
    pass "$id: the unit is the one the doc shows"
  else
    fail "$id: the unit differs from the doc's (doc -> app):"
    quote "$WORK/unit-diff"
  fi
  if command -v systemd-analyze >/dev/null; then
    if systemd-analyze verify "$unit" >"$WORK/verify" 2>&1; then
      pass "$id: systemd-analyze verify the unit"
    else
      fail "$id: systemd-analyze verify the unit"; quote "$WORK/verify"
    fi
  else
    echo "skip - systemd-analyze not installed"
  fi
}

# record-and-replay.1 is docs/examples/record_replay.sh, which
# process.record_replay runs against the demo: each command of the block
# must be a command of that file.
record_block() {
  local id="$1" c
  "$PY" - "$EXAMPLES/record_replay.sh" >"$WORK/example.cmds" <<'PY'
import re, sys
text = re.sub(r"\\\n\s*", " ", open(sys.argv[1]).read())
for l in text.split("\n"):
    if l.strip() and not l.lstrip().startswith("#"):
        print(re.sub(r"\s+", " ", l.strip()))
PY
  while IFS= read -r c; do
    c=$(sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//' <<<"$c")
    if grep -qxF -- "$c" "$WORK/example.cmds"; then
      pass "$id: run by process.record_replay (docs/examples/record_replay.sh): $c"
    else
      fail "$id: '$c' is not a command of docs/examples/record_replay.sh, which process.record_replay runs"
    fi
  done < <("$PY" "$HERE/doc_transcripts.py" commands "$DOC" "$id")
}

ran=()
while read -r -u 3 id line kind first; do
  ran+=("$id")
  echo "# $kind $id (docs/operations.md:$line)"
  if [[ -v "NOT_COMMANDS[$id]" ]]; then
    if [[ "$kind" == text && "$first" == "${NOT_COMMANDS[$id]}" ]]; then
      pass "$id (docs/operations.md:$line): no command: ${WHY_NOT[$id]}"
    else
      fail "$id (docs/operations.md:$line): listed as no command (${WHY_NOT[$id]}), but it is a $kind block beginning '$first': run it or update the list"
    fi
    continue
  fi
  case "$id" in
    troupe-ctl.2)
      start_app "$WORK/shop.toml" shop
      # Setup, not in the transcript: the doc begins with count stopped.
      "$TROUPE" ctl --url "127.0.0.1:$http" stop count >"$WORK/ctl" 2>&1
      expect_exit "setup: count stopped" "$?" 0 "$WORK/ctl"
      transcript "$id"
      stop_app ;;
    troupe-ctl.3)
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
    routes.1) routes_block "$id" ;;
    dashboard.1) logs_block "$id" ;;
    access.1) tls_block "$id" ;;
    systemd.1) systemd_block "$id" ;;
    record-and-replay.1) record_block "$id" ;;
    *)
      fail "$kind block $id at docs/operations.md:$line ($first) is not run by this test: run it, or list it as no command" ;;
  esac
done 3< <("$PY" "$HERE/doc_transcripts.py" list "$DOC")

# The doc must still hold the blocks this test was written for.
for want in troupe-ctl.2 troupe-ctl.3 dependencies-at-run-time.1 \
  filters-and-pages.1 the-file-format.1 routes.1 dashboard.1 access.1 \
  systemd.1 record-and-replay.1 "${!NOT_COMMANDS[@]}"; do
  if [[ " ${ran[*]} " != *" $want "* ]]; then
    fail "block $want is gone from docs/operations.md"
  fi
done

finish
