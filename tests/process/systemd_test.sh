#!/usr/bin/env bash
# `troupe systemd` as a real process: the unit's lines, the app file checked
# first, and `systemd-analyze verify` when the machine has it.
# Usage: systemd_test.sh PATH/TO/troupe PATH/TO/apps/examples
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$(realpath "$2")"

# 1. A system unit for the example, run from another directory: absolute
#    paths, the stop timeout from app.shutdown_timeout plus a margin.
cat >"$WORK/app.toml" <<'TOML'
[app]
name = "shop floor"
shutdown_timeout = "2500ms"

[services.tick]
type = "ticker"
TOML
(cd / && TROUPE_APP__LOG_LEVEL=debug "$TROUPE" systemd "$WORK/app.toml" \
  --set 'services.tick.topic=a b%c') >"$WORK/unit" 2>"$WORK/err"
expect_eq "systemd exits 0" "$?" "0"
u="$WORK/unit"
expect_grep "description" "$u" '^Description=troupe app shop floor$'
expect_grep "exec start" "$u" \
  "^ExecStart=$TROUPE run $WORK/app.toml --set \"services.tick.topic=a b%%c\"\$"
expect_grep "reload" "$u" '^ExecReload=/bin/kill -HUP \$MAINPID$'
expect_grep "kill signal" "$u" '^KillSignal=SIGTERM$'
expect_grep "stop timeout" "$u" '^TimeoutStopSec=8$'
expect_grep "restart" "$u" '^Restart=on-failure$'
expect_grep "restart delay" "$u" '^RestartSec=[0-9]+$'
expect_grep "working directory" "$u" "^WorkingDirectory=$WORK\$"
expect_grep "env override kept" "$u" \
  '^Environment="TROUPE_APP__LOG_LEVEL=debug"$'
expect_grep "network for system units" "$u" '^After=network-online.target$'
expect_grep "multi-user" "$u" '^WantedBy=multi-user.target$'
expect_grep "install hint" "$u" \
  '^# Install: save as /etc/systemd/system/troupe-shop-floor.service'

# 2. --user and --exec.
"$TROUPE" systemd "$EXAMPLES/demo.toml" --user --exec /opt/troupe/bin/troupe \
  >"$WORK/user" 2>"$WORK/err"
expect_eq "user unit exits 0" "$?" "0"
expect_grep "user target" "$WORK/user" '^WantedBy=default.target$'
expect_grep "given exec" "$WORK/user" \
  "^ExecStart=/opt/troupe/bin/troupe run $EXAMPLES/demo.toml\$"
if grep -q network-online "$WORK/user"; then
  fail "user unit depends on network-online.target"
else
  pass "user unit without network-online"
fi

# 3. A bad app file fails like troupe check: positions, no unit.
printf '[app]\nname = "x"\nshutdown_timeout = "soon"\n' >"$WORK/bad.toml"
"$TROUPE" systemd "$WORK/bad.toml" >"$WORK/out" 2>"$WORK/err"
expect_eq "bad file exits 1" "$?" "1"
expect_grep "error with position" "$WORK/err" \
  'bad.toml:3:20: app.shutdown_timeout: expected duration'
expect_eq "no unit printed" "$(wc -c <"$WORK/out")" "0"
"$TROUPE" systemd >"$WORK/out" 2>"$WORK/err"
expect_eq "missing file is a usage error" "$?" "2"

# 4. Type=notify, the watchdog and hardening that leaves the log writable.
expect_grep "notify type" "$u" '^Type=notify$'
expect_grep "notify access" "$u" '^NotifyAccess=main$'
expect_grep "watchdog" "$u" '^WatchdogSec=30$'
expect_grep "no new privileges" "$u" '^NoNewPrivileges=yes$'
expect_grep "read-only system" "$u" '^ProtectSystem=strict$'
expect_grep "private tmp" "$u" '^PrivateTmp=yes$'
mkdir -p "$WORK/logs"
cat >"$WORK/hard.toml" <<'TOML'
[app]
name = "hard"
log_file = "logs/hard.log"

[services.tick]
type = "ticker"

[services.bridge]
type = "bridge"
[services.bridge.endpoints.out]
socket = "pub"
bind = "ipc:///tmp/troupe-hard/out.sock"
TOML
"$TROUPE" systemd "$WORK/hard.toml" --watchdog 0 >"$WORK/hard" 2>"$WORK/err"
expect_eq "hardened unit exits 0" "$?" "0"
expect_grep "log folder writable" "$WORK/hard" "^ReadWritePaths=\"-$WORK/logs\"\$"
expect_grep "ipc folder writable" "$WORK/hard" \
  '^ReadWritePaths="-/tmp/troupe-hard"$'
expect_grep "ipc in /tmp keeps /tmp shared" "$WORK/hard" '^PrivateTmp=no$'
if grep -q '^WatchdogSec=' "$WORK/hard"; then
  fail "--watchdog 0 still sets WatchdogSec"
else
  pass "--watchdog 0: no WatchdogSec"
fi
"$TROUPE" systemd "$WORK/hard.toml" --watchdog soon >"$WORK/out" 2>"$WORK/err"
expect_eq "bad --watchdog is a usage error" "$?" "2"
expect_grep "bad --watchdog says why" "$WORK/err" "--watchdog: expected a duration"
if grep -Eq '^(ProtectSystem|PrivateTmp)=' "$WORK/user"; then
  fail "user unit has mount sandboxing a user manager cannot set up"
else
  pass "user unit without mount sandboxing"
fi
expect_grep "user unit: no new privileges" "$WORK/user" '^NoNewPrivileges=yes$'

# 5. The app speaks sd_notify: a datagram socket as NOTIFY_SOCKET stands in
#    for systemd (no systemd needed). READY once running, the watchdog fed,
#    RELOADING then READY on SIGHUP, STOPPING on SIGTERM.
PY=$(command -v python3)
notify_log="$WORK/notify.log"
"$PY" "$(dirname "$0")/notify_socket.py" "$WORK/notify.sock" "$notify_log" &
peer=$!
wait_for_line "$notify_log" '^listening' 10 || fail "notify socket not up"
cat >"$WORK/notify.toml" <<'TOML'
[app]
name = "notified"
status_interval = "1h"

[services.tick]
type = "ticker"
TOML
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=300000 \
  "$TROUPE" run "$WORK/notify.toml" >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running notified 20
if wait_for_line "$notify_log" '^READY=1\|STATUS=running: 1 service$' 10; then
  pass "READY=1 with a status"
else
  fail "no READY=1"; quote "$notify_log"
fi
# 300 ms: a ping every 150 ms; wait for several.
deadline=$((SECONDS + 10))
while (($(grep -c '^WATCHDOG=1$' "$notify_log") < 5 && SECONDS < deadline)); do
  sleep 0.1
done
n=$(grep -c '^WATCHDOG=1$' "$notify_log")
if ((n >= 5)); then pass "watchdog fed ($n pings)"; else
  fail "watchdog pings: $n"; quote "$notify_log"
fi
kill -HUP "$pid"
if wait_for_line "$notify_log" '^RELOADING=1' 10; then
  pass "RELOADING=1 on SIGHUP"
else
  fail "no RELOADING=1"; quote "$notify_log"
fi
deadline=$((SECONDS + 10))
while (($(grep -c '^READY=1' "$notify_log") < 2 && SECONDS < deadline)); do
  sleep 0.1
done
if [[ $(sed -n '/^RELOADING=1/,$p' "$notify_log" | grep -c '^READY=1') -ge 1 ]]
then
  pass "READY=1 again after the reload"
else
  fail "no READY=1 after the reload"; quote "$notify_log"
fi
kill -TERM "$pid"
wait "$pid"
expect_exit "notified app exits 0" "$?" "0" "$WORK/err"
expect_grep "STOPPING=1 on SIGTERM" "$notify_log" '^STOPPING=1\|STATUS=stopping'

# WATCHDOG_PID naming another process: the watchdog is not ours, no pings.
: >"$notify_log"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=100000 WATCHDOG_PID=1 \
  "$TROUPE" run "$WORK/notify.toml" --duration 1s >"$WORK/out" 2>"$WORK/err"
expect_exit "run --duration exits 0" "$?" "0" "$WORK/err"
expect_grep "READY=1 without a watchdog" "$notify_log" '^READY=1'
if grep -q '^WATCHDOG=1$' "$notify_log"; then
  fail "pinged a watchdog that belongs to pid 1"
else
  pass "no pings for another process's watchdog"
fi
# Without NOTIFY_SOCKET nothing breaks (every other test runs that way).
kill "$peer" 2>/dev/null
wait "$peer" 2>/dev/null

# 6. systemd itself accepts the units (only where systemd-analyze exists).
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$WORK/units"
  cp "$u" "$WORK/units/troupe-shop-floor.service"
  cp "$WORK/hard" "$WORK/units/troupe-hard.service"
  for f in troupe-shop-floor.service troupe-hard.service; do
    if systemd-analyze verify "$WORK/units/$f" >"$WORK/verify" 2>&1; then
      pass "systemd-analyze verify $f"
    else
      fail "systemd-analyze verify $f:"; quote "$WORK/verify"
    fi
  done
else
  echo "skip - systemd-analyze not installed"
fi

finish
