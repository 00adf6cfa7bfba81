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

# 4. systemd itself accepts the unit (only where systemd-analyze exists).
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$WORK/units"
  cp "$u" "$WORK/units/troupe-shop-floor.service"
  if systemd-analyze verify "$WORK/units/troupe-shop-floor.service" \
    >"$WORK/verify" 2>&1; then
    pass "systemd-analyze verify"
  else
    fail "systemd-analyze verify:"; quote "$WORK/verify"
  fi
else
  echo "skip - systemd-analyze not installed"
fi

finish
