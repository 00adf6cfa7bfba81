#!/usr/bin/env bash
# Logs as an operator meets them, from a real `troupe run`: dated text
# lines, JSON lines (parsed back), app.log_file with size rotation, SIGHUP
# and SIGUSR1 reopening a file that logrotate moved away (SIGUSR1 reloading
# the app file too), and a log file that cannot be opened.
# Usage: log_test.sh PATH/TO/troupe
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
PY=$(command -v python3)

# reload_until FILE N: sends SIGHUP to $pid until FILE has N reload lines.
hup_until() {
  local file="$1" want="$2" deadline=$((SECONDS + 20)) n
  while ((SECONDS < deadline)); do
    n=$(cat "$file" 2>/dev/null | grep -c 'reload: no service changed')
    ((n >= want)) && return 0
    kill -HUP "$pid"
    sleep 0.05
  done
  return 1
}

cat >"$WORK/text.toml" <<'TOML'
[app]
name = "texty"

[services.tick]
type = "ticker"
TOML

# 1. Text lines carry the date.
"$TROUPE" run "$WORK/text.toml" --duration 300ms >"$WORK/out" 2>"$WORK/err"
expect_exit "text run exits 0" "$?" "0" "$WORK/err"
expect_grep "text timestamp has the date" "$WORK/err" \
  "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} info +\[troupe\] app 'texty' running"

# 2. JSON lines, on stderr and in the file, every line an object with the
#    documented keys; quotes and a newline in the app's name escaped.
mkdir -p "$WORK/logs"
cat >"$WORK/json.toml" <<'TOML'
[app]
name = "say \"hi\"\nthere\t\\"
log_format = "json"
log_file = "logs/app.log"

[services.tick]
type = "ticker"
TOML
(cd "$WORK" && "$TROUPE" run json.toml --duration 300ms \
  >"$WORK/out" 2>"$WORK/err")
expect_exit "json run exits 0" "$?" "0" "$WORK/err"
cat >"$WORK/check_json.py" <<'PYEOF'
import json, re, sys
want = 'say "hi"\nthere\t\\'
iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")
for path in sys.argv[1:]:
    lines = open(path, encoding="utf-8").read().splitlines()
    assert lines, f"{path}: empty"
    seen = fields = escaped_fields = False
    for n, line in enumerate(lines, 1):
        rec = json.loads(line)  # raises on a line that is not JSON
        assert set(rec) == {"time", "level", "service", "message", "fields"}, (path, n, rec)
        assert iso.match(rec["time"]), (path, n, rec["time"])
        assert rec["level"] in {"trace", "debug", "info", "warning", "error", "critical"}, rec
        assert isinstance(rec["fields"], dict) and "pid" in rec["fields"], rec
        if rec["message"].startswith(f"app '{want}' running") and rec["service"] == "troupe":
            seen = True
        # Lifecycle lines carry structured fields (troupe::log_fields).
        f = rec["fields"]
        if (rec["service"] == "tick" and f.get("event") == "state_change"
                and f.get("from") == "starting" and f.get("to") == "running"):
            fields = True
        if (rec["service"] == want and f.get("event") == "state_change"
                and f.get("to") == "stopping" and f.get("reason") == "stop: shutdown"):
            escaped_fields = True
    assert seen, f"{path}: no running line with the escaped name"
    assert fields, f"{path}: no state_change fields for tick starting -> running"
    assert escaped_fields, f"{path}: no state_change fields under the escaped app name"
    print(f"{path}: {len(lines)} JSON lines")
PYEOF
if "$PY" "$WORK/check_json.py" "$WORK/err" "$WORK/logs/app.log" >"$WORK/py" 2>&1
then
  pass "stderr and log_file: one JSON object per line"
else
  fail "JSON lines:"; quote "$WORK/py"; quote 5 "$WORK/err"
fi
grep -v '^{' "$WORK/err" >"$WORK/nonjson"
expect_eq "nothing but JSON on stderr" "$(wc -l <"$WORK/nonjson")" "0"

# 3. Size rotation: app.log, app.1.log, app.2.log, never bigger than
#    log_max_size, never more than log_max_files old ones.
cat >"$WORK/rot.toml" <<'TOML'
[app]
name = "rot"
log_file = "rot/app.log"
log_max_size = 1000
log_max_files = 2
status_interval = "1h"

[services.tick]
type = "ticker"
TOML
mkdir -p "$WORK/rot"
(cd "$WORK" && exec "$TROUPE" run rot.toml >"$WORK/out" 2>"$WORK/err") &
pid=$!
await_running rot 20
# ~90 bytes a line: 40 reload lines need several rotations.
hup_until "$WORK/err" 40 || fail "reloads did not happen"
kill -TERM "$pid"; wait "$pid"
expect_exit "rotating app exits 0" "$?" "0" "$WORK/err"
ls "$WORK/rot" >"$WORK/files"
expect_eq "rotated files" "$(tr '\n' ' ' <"$WORK/files")" \
  "app.1.log app.2.log app.log "
big=$(find "$WORK/rot" -type f -size +1000c)
expect_eq "no file past log_max_size" "$big" ""
[[ -z "$big" ]] || ls -l "$WORK/rot"
expect_grep "the newest file has the last line" "$WORK/rot/app.log" \
  'drained|stopped|final'

# 4. logrotate moves the file away and sends SIGHUP: a new file is opened,
#    the moved one gets nothing more.
cat >"$WORK/hup.toml" <<'TOML'
[app]
name = "hup"
log_file = "hup.log"
log_max_size = 0
status_interval = "1h"

[services.tick]
type = "ticker"
TOML
(cd "$WORK" && exec "$TROUPE" run hup.toml >"$WORK/out" 2>"$WORK/err") &
pid=$!
await_running hup 20
mv "$WORK/hup.log" "$WORK/hup.log.1"
hup_until "$WORK/hup.log" 1 || { fail "no reopened hup.log"; quote 10 "$WORK/err"; }
# Counted once the new file has a line: until the app has reopened, its
# lines still go to the moved file (as with logrotate), which is no loss.
before=$(wc -l <"$WORK/hup.log.1")
kill -TERM "$pid"; wait "$pid"
expect_exit "reopening app exits 0" "$?" "0" "$WORK/err"
expect_grep "new file has the reload line" "$WORK/hup.log" \
  'reload: no service changed'
expect_eq "moved file got nothing more" "$(wc -l <"$WORK/hup.log.1")" "$before"

# 5. SIGUSR1 does what SIGHUP does (docs/operations.md, Signals and Logs):
#    it reloads the app file, and reopens a log file that logrotate moved
#    away. One signal, after the file moved and the app file changed.
cat >"$WORK/usr.toml" <<'TOML'
[app]
name = "usr"
log_file = "usr.log"
log_max_size = 0
status_interval = "1h"

[services.tick]
type = "ticker"
period = "1s"
TOML
(cd "$WORK" && exec "$TROUPE" run usr.toml >"$WORK/out" 2>"$WORK/err") &
pid=$!
await_running usr 20
mv "$WORK/usr.log" "$WORK/usr.log.1"
sed -i 's/^period = "1s"$/period = "200ms"/' "$WORK/usr.toml"
kill -USR1 "$pid"
if wait_for_line "$WORK/usr.log" "reload: reconfigured 'tick'" 20; then
  pass "SIGUSR1 reopens usr.log and reloads the app file (tick reconfigured)"
else
  fail "no reconfigured line in a reopened usr.log after SIGUSR1"
  quote 10 "$WORK/err"
fi
if kill -0 "$pid" 2>/dev/null; then pass "  the app still runs after SIGUSR1"
else fail "  SIGUSR1 ended the app"; fi
before=$(wc -l <"$WORK/usr.log.1")
kill -TERM "$pid"; wait "$pid"
expect_exit "  and stops on SIGTERM with 0" "$?" "0" "$WORK/err"
expect_eq "  the moved file got nothing more" "$(wc -l <"$WORK/usr.log.1")" \
  "$before"
if grep -q 'reload:' "$WORK/usr.log.1"; then
  fail "  the reload was logged to the moved file"; quote 5 "$WORK/usr.log.1"
else pass "  the reload was logged to the new file only"; fi
expect_grep "  the new file has the drain too" "$WORK/usr.log" 'drain|stopped'

# 6. A log file that cannot be opened: a clear error, exit 1.
"$TROUPE" run "$WORK/text.toml" --set "app.log_file=$WORK/text.toml/x.log" \
  --duration 1s >"$WORK/out" 2>"$WORK/err"
expect_exit "unopenable log_file exits 1" "$?" "1" "$WORK/err"
expect_grep "says which file" "$WORK/err" \
  "app.log_file: cannot open '$WORK/text.toml/x.log'"
"$TROUPE" check "$WORK/text.toml" --set app.log_format=xml >"$WORK/out" 2>"$WORK/err"
expect_exit "unknown log_format is invalid" "$?" "1" "$WORK/err"
expect_grep "names the choices" "$WORK/err" 'app.log_format.*json'

finish
