# Helpers for process tests. Sourced.
set -uo pipefail

failures=0
passes=0
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

pass() { passes=$((passes + 1)); echo "ok   - $*"; }
fail() { failures=$((failures + 1)); echo "FAIL - $*"; }

# quote [N] FILE...: prints the files (their last N lines, if N is given)
# indented under a failure line.
quote() {
  if [[ "$1" =~ ^[0-9]+$ ]]; then
    local n="$1"; shift
    sed 's/^/    | /' "$@" | tail -n "$n"
  else
    sed 's/^/    | /' "$@"
  fi
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}

# expect_exit WHAT ACTUAL EXPECTED [LOG...]: like expect_eq for an exit code;
# on a mismatch prints the tail of each LOG so that a flake in CI says why.
expect_exit() {
  local what="$1" got="$2" want="$3"; shift 3
  if [[ "$got" == "$want" ]]; then pass "$what"; return; fi
  fail "$what: exit $got, expected $want"
  local f
  for f in "$@"; do
    echo "    --- tail of $f"; quote 40 "$f" 2>/dev/null
  done
}

# expect_grep WHAT FILE REGEX
expect_grep() {
  if grep -Eq -- "$3" "$2"; then pass "$1"; else
    fail "$1: /$3/ not in $2:"; quote 20 "$2"
  fi
}

# expect_final_in WHAT FILE SERVICE: SERVICE's row in the `final status:`
# table of FILE is stopped with a positive IN count.
expect_final_in() {
  local n
  n=$(awk -v s="$3" '/^final status:/ {f = 1} f && $1 == s && $3 == "stopped" {print $6}' "$2")
  if [[ "$n" =~ ^[0-9]+$ ]] && ((n > 0)); then pass "$1 (IN $n)"; else
    fail "$1: IN='$n'"; quote 12 "$2"
  fi
}

# wait_for_line FILE REGEX TIMEOUT_S: polls until the line appears.
wait_for_line() {
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# free_port: prints a TCP port on 127.0.0.1 that is free right now ($PY, or
# python3 when the test has not picked one). Picked at random outside the
# kernel's ephemeral range (ip_local_port_range): a port from that range
# (what binding port 0 gives) can be taken, before the app binds it, as the
# local port of any outgoing connection of a test running beside this one
# ("Address already in use" in a stress run).
free_port() {
  "${PY:-python3}" -c '
import random, socket
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
ports = list(range(20000, lo)) if lo > 21000 else list(range(hi + 1, 65536))
random.shuffle(ports)
for p in ports:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
'
}

# asan_extra_kb BINARY: how much more RSS (kB) an AddressSanitizer build of
# BINARY may take than a plain one for the same work, 0 for a plain build:
# its shadow memory and runtime (about 250 MB at start for troupe) and the
# quarantine that keeps freed blocks (256 MB by default, ASAN_OPTIONS
# quarantine_size_mb), which churn fills whatever the live memory is.
asan_extra_kb() {
  if grep -qa __asan_init "$1"; then echo $((640 * 1024)); else echo 0; fi
}

# pick_python CODE WHAT: sets PY to a python3 that runs CODE, or skips the
# test (exit 77 with a SKIP line naming WHAT) when there is none.
pick_python() {
  PY=""
  local cand
  for cand in /usr/bin/python3 python3; do
    if "$cand" -c "$1" 2>/dev/null; then PY="$cand"; break; fi
  done
  if [[ -z "$PY" ]]; then
    # 77: ctest reports the test skipped (SKIP_RETURN_CODE), never passed.
    echo "SKIP - no $2"; exit 77
  fi
}

# need_python: sets PY to a python3 (with json), or skips the test.
need_python() { pick_python 'import json' "python3"; }

# need_pyzmq: sets PY to a python3 that imports zmq, or skips the test.
need_pyzmq() {
  pick_python 'import zmq' "python3 with pyzmq (install python3-zmq)"
}

# start_echo APP_FILE [--set ...]: runs the echo app with its `in` and `out`
# endpoints and the control plane on free ports (in_addr, out_addr, http),
# its output in $WORK/out and $WORK/err, its pid in `pid`; fails the test
# when it does not report running.
start_echo() {
  local file="$1"
  shift
  in_addr="tcp://127.0.0.1:$(free_port)"
  out_addr="tcp://127.0.0.1:$(free_port)"
  http=$(free_port)
  "$TROUPE" run "$file" \
    --set "services.bridge.endpoints.in.bind=$in_addr" \
    --set "services.bridge.endpoints.out.bind=$out_addr" \
    --set "control.http=127.0.0.1:$http" "$@" >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  await_running echo 20
}

# start_demo APPS_DIR [--set ...]: runs apps/demo/demo.toml with every port
# free (jobs, results, stats, http), like start_echo.
start_demo() {
  local apps="$1"
  shift
  jobs=$(free_port) results=$(free_port) stats=$(free_port) http=$(free_port)
  "$TROUPE" run "$apps/demo/demo.toml" "$@" \
    --set "services.controller_bridge.endpoints.jobs.bind=tcp://127.0.0.1:$jobs" \
    --set "services.controller_bridge.endpoints.results.bind=tcp://127.0.0.1:$results" \
    --set "services.controller_bridge.endpoints.stats.bind=tcp://127.0.0.1:$stats" \
    --set "services.worker_bridge.endpoints.jobs.connect=[\"tcp://127.0.0.1:$jobs\"]" \
    --set "services.worker_bridge.endpoints.results.connect=[\"tcp://127.0.0.1:$results\"]" \
    --set "control.http=127.0.0.1:$http" >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  await_running demo 30
}

# start_demo_controller APPS [--set ...]: the two-process demo's controller
# (apps/demo/demo-controller.toml, status every second) with its jobs,
# results and stats endpoints bound on free ports ($jobs, $results,
# $stats); its pid in `ctl`, its output in $WORK/ctl.out and ctl.err.
start_demo_controller() {
  local apps="$1"
  shift
  jobs=$(free_port) results=$(free_port) stats=$(free_port)
  "$TROUPE" run "$apps/demo/demo-controller.toml" --set app.status_interval=1s "$@" \
    --set "services.controller_bridge.endpoints.jobs.bind=tcp://127.0.0.1:$jobs" \
    --set "services.controller_bridge.endpoints.results.bind=tcp://127.0.0.1:$results" \
    --set "services.controller_bridge.endpoints.stats.bind=tcp://127.0.0.1:$stats" \
    >"$WORK/ctl.out" 2>"$WORK/ctl.err" &
  ctl=$!
}

# start_demo_worker APPS NAME [--set ...]: a demo worker process
# (apps/demo/demo-worker.toml) connected to the controller's $jobs and
# $results; its pid in $!, its output in $WORK/NAME.out and NAME.err.
start_demo_worker() {
  local apps="$1" name="$2"
  shift 2
  "$TROUPE" run "$apps/demo/demo-worker.toml" "$@" \
    --set "services.worker_bridge.endpoints.jobs.connect=[\"tcp://127.0.0.1:$jobs\"]" \
    --set "services.worker_bridge.endpoints.results.connect=[\"tcp://127.0.0.1:$results\"]" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
}

# await_running APP SECONDS: waits until app APP (pid in `pid`) logs that it
# runs; otherwise kills it, fails the test and exits.
await_running() {
  if ! wait_for_line "$WORK/err" "app '$1' running" "$2"; then
    kill -9 "$pid" 2>/dev/null
    fail "app never reported running"; quote 20 "$WORK/err"
    finish; exit 1
  fi
  pass "app running"
}

finish() {
  echo "$passes passed, $failures failed"
  ((failures == 0))
}
