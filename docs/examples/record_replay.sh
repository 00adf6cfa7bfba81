#!/usr/bin/env bash
# Record and replay as docs/operations.md shows it. Run by
# tests/process/record_replay_test.sh with DEMO_PUB (the demo bridge's PUB
# endpoint, publishing the workers' results.*) and TARGET (a PULL endpoint
# of a fresh app whose aggregator counts results.*).
set -euo pipefail

# Record the results the demo's bridge publishes, for 3 seconds, in files of
# at most one second each (results.bag, results.bag.1, ...).
troupe record "$DEMO_PUB" --topic results. -o results.bag \
  --max-seconds 1 --duration 3s --overwrite

# Topics, counts, duration and sizes of the recording.
troupe bag info results.bag

# Send it to the fresh app, twice as fast as it was recorded.
troupe replay results.bag --to "$TARGET" --rate 2
