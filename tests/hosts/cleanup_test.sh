#!/usr/bin/env bash
# The many-host test's promises about itself (tests/hosts/hosts_test.sh):
# where network namespaces are not permitted it says so and exits 77
# (ctest: skipped), never passes silently — checked as a non-root user
# and as root of a user namespace (who may not mount /run/netns); and a
# run that is interrupted (SIGTERM while its apps are starting) removes
# every namespace and /etc/netns entry it made, and leaves none of its
# processes behind; one killed outright (SIGKILL, as by a ctest timeout:
# no trap runs) leaves them, and the next run removes them.
# Usage: cleanup_test.sh PATH/TO/troupe
source "$(dirname "$0")/../process/lib.sh"
TROUPE="$(realpath "$1")"
HERE="$(cd "$(dirname "$0")" && pwd)"
checked=0

# skipped WHAT CMD...: CMD runs hosts_test.sh (SCRIPT, if set) and must
# exit 77 saying SKIP.
skipped() {
  local what="$1" rc; shift
  "$@" bash "${SCRIPT:-$HERE/hosts_test.sh}" "$TROUPE" >"$WORK/skip.out" 2>&1
  rc=$?
  expect_eq "$what: exit code 77 (skipped)" "$rc" 77
  expect_grep "$what: says why" "$WORK/skip.out" '^SKIP - '
  checked=$((checked + 1))
}

if [[ $EUID -eq 0 ]] && command -v setpriv >/dev/null; then
  # The user runs a copy it can read: the checkout may sit where only root
  # may enter (a clone in a `mktemp -d`, as ../shared/tools/ci-like makes).
  anyone="$(mktemp -d)"
  mkdir -p "$anyone/hosts" "$anyone/process"
  cp "$HERE/hosts_test.sh" "$anyone/hosts/"
  cp "$HERE/../process/lib.sh" "$anyone/process/"
  chmod -R a+rX "$anyone"
  SCRIPT="$anyone/hosts/hosts_test.sh" skipped "as a non-root user" \
    setpriv --reuid=65534 --regid=65534 --clear-groups
  rm -rf "$anyone"
fi
if unshare -U -r true 2>/dev/null; then
  skipped "as root of a user namespace" unshare -U -r
fi

# start_run NAME: hosts_test.sh in the background until its proxy app
# runs; its pid in run_NAME.
start_run() {
  bash "$HERE/hosts_test.sh" "$TROUPE" >"$WORK/$1.out" 2>&1 &
  eval "run_$1=$!"
  if wait_for_line "$WORK/$1.out" "proxy runs" 60; then
    pass "run $1 got as far as its apps"
  else
    fail "run $1 never started its apps"; quote 20 "$WORK/$1.out"
  fi
}
# left_by PID: namespaces, /etc/netns entries and processes a run left.
left_by() {
  local n
  n=$(ip netns list | grep -c "^trh$1")
  n=$((n + $(find /etc/netns -maxdepth 1 -name "trh$1*" 2>/dev/null | wc -l)))
  echo $((n + $(pgrep -f "$HERE/proxy.toml" | wc -l)))
}

if [[ $EUID -eq 0 ]] && ip netns add "trc$$" 2>/dev/null; then
  ip netns del "trc$$"
  # Killed outright (no trap runs): what it made stays, until the next run
  # removes it.
  start_run killed
  kill -9 "$run_killed"
  wait "$run_killed" 2>/dev/null
  n=$(left_by "$run_killed")
  ((n > 0)) && pass "a run killed outright leaves its namespaces ($n things)" ||
    fail "a killed run left nothing: nothing for the next run to check"
  start_run interrupted
  expect_grep "the next run removes them" "$WORK/interrupted.out" \
    "removing the namespaces left by an earlier run \(pid $run_killed, gone\)"
  kill -TERM "$run_interrupted"
  wait "$run_interrupted"
  expect_eq "the interrupted run fails (exit 1)" "$?" 1
  expect_eq "nothing of the killed run is left" "$(left_by "$run_killed")" 0
  expect_eq "nothing of the interrupted run is left (its trap)" \
    "$(left_by "$run_interrupted")" 0
  checked=$((checked + 1))
fi

if ((checked == 0)); then
  echo "SKIP - neither root nor user namespaces here"
  exit 77
fi
finish
