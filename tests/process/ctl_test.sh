#!/usr/bin/env bash
# `troupe ctl` as a real process: its command line and exit codes without an
# app (requests against a live control plane run in troupe-control-test).
# Usage: ctl_test.sh PATH/TO/troupe
source "$(dirname "$0")/lib.sh"
TROUPE="$1"
unset TROUPE_CONTROL_URL TROUPE_CONTROL_TOKEN

# A port nobody listens on: bound by the OS for us, then released.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# 1. No URL: a usage error that says how to give one.
"$TROUPE" ctl status >"$WORK/out" 2>"$WORK/err"
expect_eq "no URL exits 2" "$?" "2"
expect_grep "no URL explained" "$WORK/err" 'pass --url http://127.0.0.1:PORT'

# 2. Unreachable: exit 3, the URL named; options after the command work too.
"$TROUPE" ctl status --json --url "127.0.0.1:$PORT" >"$WORK/out" 2>"$WORK/err"
expect_eq "unreachable exits 3" "$?" "3"
expect_grep "unreachable named" "$WORK/err" \
  "cannot reach the control plane at http://127.0.0.1:$PORT"
TROUPE_CONTROL_URL="http://127.0.0.1:$PORT" "$TROUPE" ctl health \
  >"$WORK/out" 2>"$WORK/err"
expect_eq "URL from the environment" "$?" "3"

# 3. Missing arguments and bad settings are usage errors, before any request.
"$TROUPE" ctl --url "127.0.0.1:$PORT" stop >"$WORK/out" 2>"$WORK/err"
expect_eq "stop without a name exits 2" "$?" "2"
"$TROUPE" ctl --url "127.0.0.1:$PORT" add t2 ticker --set nokey \
  >"$WORK/out" 2>"$WORK/err"
expect_eq "bad --set exits 2" "$?" "2"
expect_grep "bad --set named" "$WORK/err" '--set nokey: expected key=value'

# 4. The exit codes are in --help.
"$TROUPE" ctl --help >"$WORK/out" 2>&1
expect_grep "exit codes documented" "$WORK/out" \
  'Exit codes: 0 ok, 1 the server refused or the app is unhealthy, 2 usage error, 3 control plane unreachable'

finish
