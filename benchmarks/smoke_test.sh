#!/usr/bin/env bash
# Smoke test of troupe-bench: every scenario runs with --quick and reports
# sane numbers; the CLI answers --help and rejects unknown scenarios. No
# timing assertions: ratios are for reading, not for failing tests.
#
# usage: smoke_test.sh path/to/troupe-bench
set -u

bench=${1:?usage: smoke_test.sh path/to/troupe-bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# --help exits 0 and mentions the options.
if "$bench" --help >"$tmp/help.txt" 2>&1; then
  for opt in --scenario --quick --json --repetitions --warmup --list; do
    grep -q -- "$opt" "$tmp/help.txt" || fail "--help does not mention $opt"
  done
  echo "ok: --help exits 0 and lists the options"
else
  fail "--help exited $?"
fi

# An unknown scenario is a usage error (exit 2) that names the valid ones.
"$bench" --scenario nope >"$tmp/nope.out" 2>"$tmp/nope.err"
rc=$?
if [ "$rc" -ne 2 ]; then
  fail "--scenario nope exited $rc, expected 2"
elif ! grep -q "local.int" "$tmp/nope.err"; then
  fail "--scenario nope does not list the valid names: $(cat "$tmp/nope.err")"
else
  echo "ok: --scenario nope exits 2 and lists the valid names"
fi

# The scenario names a quick run runs, first column of --quick --list (the
# two-process bridge scenarios keep a subset in the quick run).
if ! "$bench" --quick --list >"$tmp/list.txt"; then
  fail "--quick --list failed"
fi
awk '{print $1}' "$tmp/list.txt" >"$tmp/names.txt"
"$bench" --list | awk '{print $1}' >"$tmp/all_names.txt"
if ! grep -q '^bridge\.' "$tmp/names.txt"; then
  fail "the quick run has no bridge scenario"
fi
if grep -vxF -f "$tmp/all_names.txt" "$tmp/names.txt" >/dev/null; then
  fail "--quick --list names scenarios that --list does not"
fi
echo "ok: --quick --list names $(wc -l <"$tmp/names.txt") scenario(s): $(tr '\n' ' ' <"$tmp/names.txt")"

# One quick run of everything.
if ! "$bench" --quick --json "$tmp/out.json" >"$tmp/run.out" 2>"$tmp/run.err"; then
  fail "troupe-bench --quick exited nonzero"
  echo "--- stdout"; cat "$tmp/run.out"
  echo "--- stderr"; cat "$tmp/run.err"
else
  cat "$tmp/run.out"
fi

if [ -f "$tmp/out.json" ]; then
  python3 - "$tmp/out.json" "$tmp/names.txt" <<'EOF' || failures=$((failures + 1))
import json, math, sys

doc = json.load(open(sys.argv[1]))
names = [n for n in open(sys.argv[2]).read().split() if n]
errors = []

if not names:
    errors.append("--list named no scenarios")
if not isinstance(doc.get("machine"), dict) or not doc["machine"]:
    errors.append("'machine' missing or empty")
for key in ("host", "cores", "kernel", "compiler", "build_type", "date"):
    if key not in doc.get("machine", {}):
        errors.append("machine.%s missing" % key)
scenarios = doc.get("scenarios")
if not isinstance(scenarios, list):
    errors.append("'scenarios' is not a list")
    scenarios = []

by_name = {}
for s in scenarios:
    name = s.get("name")
    if not isinstance(name, str):
        errors.append("a scenario without a name: %r" % s)
        continue
    if name in by_name:
        errors.append("%s appears twice" % name)
    by_name[name] = s
    if not isinstance(s.get("unit"), str) or not s["unit"]:
        errors.append("%s: 'unit' missing or empty" % name)
    if not isinstance(s.get("higher_is_better"), bool):
        errors.append("%s: 'higher_is_better' missing or not a boolean" % name)
    for key in ("troupe", "raw", "ratio"):
        v = s.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            errors.append("%s.%s is not a number: %r" % (name, key, v))
        elif not math.isfinite(v) or v <= 0:
            errors.append("%s.%s is not finite and > 0: %r" % (name, key, v))
    # Scenarios that count lost messages say so per side.
    if "lost" in s:
        lost = s["lost"]
        if not isinstance(lost, dict):
            errors.append("%s.lost is not an object: %r" % (name, lost))
        else:
            for side in ("troupe", "raw"):
                v = lost.get(side)
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    errors.append("%s.lost.%s is not a count: %r"
                                  % (name, side, v))

for n in names:
    if n not in by_name:
        errors.append("scenario %s (from --list) missing in the JSON" % n)
for n in by_name:
    if n not in names:
        errors.append("scenario %s in the JSON is not in --quick --list" % n)

for e in errors:
    print("FAIL: " + e)
if errors:
    sys.exit(1)
print("ok: JSON has machine info and %d scenario(s), each with unit, "
      "higher_is_better and finite troupe/raw/ratio > 0" % len(by_name))
EOF
else
  fail "no JSON written"
fi

# --replay FILE: a bag (troupe record's format is plain SQLite, so python's
# sqlite3 writes one here) through troupe and raw, nothing else.
if python3 - "$tmp/w.bag" <<'EOF'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE troupe_bag (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY, recv_ns INTEGER NOT NULL,
  topic BLOB NOT NULL, payload BLOB NOT NULL, meta BLOB);
INSERT INTO troupe_bag VALUES ('format', 'troupe.bag'), ('version', '1'),
  ('recording', 'smoke'), ('split', '0'), ('source', 'smoke_test.sh');
""")
db.executemany("INSERT INTO messages (recv_ns, topic, payload) VALUES (?, ?, ?)",
               [(i * 1000, b"orders.%d" % (i % 3),
                 json.dumps({"id": i}).encode()) for i in range(500)])
db.commit()
EOF
then
  if "$bench" --replay "$tmp/w.bag" --quick -r 1 -w 0 \
    --json "$tmp/replay.json" >"$tmp/replay.out" 2>"$tmp/replay.err" &&
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["scenarios"]; sys.exit(0 if [x["name"] for x in s] == ["replay"] and all(x[k] > 0 for x in s for k in ("troupe", "raw")) else 1)' "$tmp/replay.json"; then
    echo "ok: --replay runs the replay scenario alone: $(grep '^replay' "$tmp/replay.out")"
  else
    fail "--replay: $(cat "$tmp/replay.err" "$tmp/replay.out")"
  fi
else
  fail "could not write a bag with python3's sqlite3"
fi

if [ "$failures" -ne 0 ]; then
  echo "smoke test: $failures failure(s)"
  exit 1
fi
echo "smoke test: all checks passed"
