#!/usr/bin/env bash
# `troupe check`, `troupe config` and `troupe types` as real processes, with a
# real environment and real files.
# Usage: config_test.sh PATH/TO/troupe PATH/TO/apps/examples PLUGIN.so
source "$(dirname "$0")/lib.sh"
TROUPE="$(realpath "$1")"
EXAMPLES="$2"
PLUGIN="${3:-}"

# 1. The shipped example is valid.
"$TROUPE" check "$EXAMPLES/demo.toml" >"$WORK/out" 2>"$WORK/err"
expect_eq "example checks out" "$?" "0"
expect_grep "start order" "$WORK/out" 'ok, 2 services \(start order: tick count\)'

# 2. A typo, a wrong type and an out-of-range value: three errors, each with
#    file:line:column and key path, the typo with a did-you-mean.
cat >"$WORK/bad.toml" <<'TOML'
[app]
name = "bad"

[services.tick]
type = "ticker"
perod = "1s"
topic = 7

[services.count]
type = "counter"
stale_after = "0ms"
TOML
"$TROUPE" check "$WORK/bad.toml" >"$WORK/out" 2>"$WORK/err"
expect_eq "invalid file exits 1" "$?" "1"
expect_grep "typo with did-you-mean" "$WORK/err" \
  "bad.toml:6:1: services.tick.perod: unknown key 'perod' \(did you mean 'period'\?\)$"
expect_grep "wrong type" "$WORK/err" \
  'bad.toml:7:9: services.tick.topic: expected string, got 7$'
expect_grep "out of range" "$WORK/err" \
  'bad.toml:11:15: services.count.stale_after: expected duration >= 1ms, got "0ms"$'
expect_grep "error count" "$WORK/err" '^3 errors$'

# 3. Env and --set overrides, each shown with its origin.
TROUPE_APP__LOG_LEVEL=debug "$TROUPE" config "$EXAMPLES/demo.toml" \
  --set app.name=x --set services.tick.period=1s >"$WORK/out" 2>"$WORK/err"
expect_eq "config exits 0" "$?" "0"
expect_grep "env origin" "$WORK/out" \
  '^log_level = "debug"  # env TROUPE_APP__LOG_LEVEL$'
expect_grep "cli origin" "$WORK/out" '^name = "x"  # --set app.name=x$'
expect_grep "file origin" "$WORK/out" '^topic = "demo.tick"  # .*demo.toml:13:9$'
expect_grep "default origin" "$WORK/out" '^restart = "permanent"  # default$'

# 4. The printed config is itself a valid app file with the same values.
"$TROUPE" config "$WORK/out" >"$WORK/again" 2>"$WORK/err" \
  || { fail "printed config does not load back"; cat "$WORK/err"; }
strip() { sed -E 's/  # .*$//; /^# /d' "$1"; }
if diff <(strip "$WORK/out") <(strip "$WORK/again") >"$WORK/diff"; then
  pass "printed config round-trips"
else
  fail "printed config changed on reload:"; cat "$WORK/diff"
fi

# 5. A bad --set names the flag; a missing file is one clear error.
"$TROUPE" check "$EXAMPLES/demo.toml" --set services.tick.period=soon \
  >"$WORK/out" 2>"$WORK/err"
expect_eq "bad --set exits 1" "$?" "1"
expect_grep "bad --set named" "$WORK/err" \
  '^--set services.tick.period=soon: services.tick.period: expected duration'
"$TROUPE" check "$WORK/missing.toml" >"$WORK/out" 2>"$WORK/err"
expect_eq "missing file exits 1" "$?" "1"
expect_grep "missing file named" "$WORK/err" 'missing.toml: cannot read file'

# 6. TROUPE_PROJECT picks projects/NAME/FILE when it exists.
mkdir -p "$WORK/projects/blue"
printf '[app]\nname = "base"\n' >"$WORK/app.toml"
printf '[app]\nname = "blue"\n' >"$WORK/projects/blue/app.toml"
(cd "$WORK" && TROUPE_PROJECT=blue "$TROUPE" config app.toml) >"$WORK/out" 2>&1
expect_grep "project file used" "$WORK/out" '^name = "blue"  # projects/blue/app.toml:2:8$'

# 7. Types and help come from the schemas.
"$TROUPE" types >"$WORK/out" 2>&1
expect_grep "types list ticker" "$WORK/out" '^ticker - '
expect_grep "types show defaults" "$WORK/out" 'period \(duration >= 1us, default "250ms"\)'
"$TROUPE" types tikcer >"$WORK/out" 2>&1
expect_eq "unknown type exits 1" "$?" "1"
expect_grep "unknown type suggests" "$WORK/out" "did you mean 'ticker'"
"$TROUPE" config --help >"$WORK/out" 2>&1
expect_grep "help lists settings" "$WORK/out" 'stale_after \(duration'
"$TROUPE" types --help >"$WORK/out" 2>&1
expect_exit "types --help exits 0" "$?" 0 "$WORK/out"
expect_grep "types --help has its own footer" "$WORK/out" \
  'troupe types --plugin ./my.so my_type'
if grep -q "Run 'troupe COMMAND --help'" "$WORK/out"; then
  fail "types --help prints the top-level footer"
else
  pass "types --help without the top-level footer"
fi
if [[ -n "$PLUGIN" ]]; then
  "$TROUPE" types --plugin "$PLUGIN" slow_start >"$WORK/out" 2>&1
  expect_exit "types --plugin X.so NAME" "$?" 0 "$WORK/out"
  expect_grep "shows the plugin's type" "$WORK/out" '^slow_start - '
  if grep -q '^ticker - ' "$WORK/out"; then
    fail "types --plugin X.so NAME listed every type"
  else
    pass "only NAME listed"
  fi
fi

# 7b. Every error in one pass: a missing dependency beside a typo; a
#     disabled service is not in the start order; a file with thousands of
#     mistakes reports the first 100 and a count, quickly; a huge file is
#     refused before it is read.
cat >"$WORK/many.toml" <<'TOML'
[app]
name = "many"

[services.tick]
type = "ticker"
perod = "1s"

[services.count]
type = "counter"
depends_on = ["ghost"]
TOML
"$TROUPE" check "$WORK/many.toml" >"$WORK/out" 2>"$WORK/err"
expect_exit "typo + missing dependency exits 1" "$?" 1 "$WORK/err"
expect_grep "typo reported" "$WORK/err" "perod: unknown key"
expect_grep "missing dependency reported in the same pass" "$WORK/err" \
  "depends_on\[0\]: unknown service 'ghost'"
expect_grep "both counted" "$WORK/err" '^2 errors$'
cat >"$WORK/off.toml" <<'TOML'
[services.tick]
type = "ticker"
[services.off]
type = "ticker"
enabled = false
TOML
"$TROUPE" check "$WORK/off.toml" >"$WORK/out" 2>"$WORK/err"
expect_exit "disabled service checks out" "$?" 0 "$WORK/err"
expect_grep "disabled not in the start order" "$WORK/out" \
  'ok, 1 service \(start order: tick\); disabled: off$'
{
  printf '[app]\nname = "junk"\n[services.tick]\ntype = "ticker"\n'
  for ((i = 0; i < 5000; i++)); do printf 'junk_key_%d = 1\n' "$i"; done
} >"$WORK/junk.toml"
timeout 60 "$TROUPE" check "$WORK/junk.toml" >"$WORK/out" 2>"$WORK/err"
expect_exit "5000 unknown keys exit 1" "$?" 1 "$WORK/err"
expect_eq "first 100 listed, then one line" \
  "$(grep -c 'unknown key' "$WORK/err")" "100"
expect_grep "the rest counted" "$WORK/err" \
  '\.\.\. and 4900 more error\(s\) not shown \(the first 100 are listed\)'
expect_grep "total" "$WORK/err" '^5000 errors$'
truncate -s 40M "$WORK/huge.toml"
timeout 60 "$TROUPE" check "$WORK/huge.toml" >"$WORK/out" 2>"$WORK/err"
expect_exit "a 40 MiB file exits 1" "$?" 1 "$WORK/err"
expect_grep "refused with its size" "$WORK/err" \
  'huge.toml: file is 40 MiB; an app file may be at most 32 MiB'

# 8. troupe run refuses an invalid file (every error, nothing started) and
#    runs a valid one in dependency order.
"$TROUPE" run "$WORK/bad.toml" >"$WORK/out" 2>"$WORK/err"
expect_eq "run with invalid file exits 1" "$?" "1"
expect_grep "run lists errors" "$WORK/err" "^3 error\(s\); nothing started$"
"$TROUPE" run "$EXAMPLES/demo.toml" --duration 1s \
  --set app.status_interval=200ms >"$WORK/out" 2>"$WORK/err"
expect_exit "run --duration exits 0" "$?" 0 "$WORK/err"
expect_grep "counter counted" "$WORK/out" '^status count: running healthy in=[1-9]'
expect_grep "stops dependents first" "$WORK/err" 'count\] running -> stopping'
if grep -n 'running -> stopping' "$WORK/err" | head -1 | grep -q count; then
  pass "count (depends on tick) stopped before tick"
else
  fail "stop order:"; grep 'running -> stopping' "$WORK/err"
fi

finish
