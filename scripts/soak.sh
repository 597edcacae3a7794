#!/usr/bin/env bash
# Long soak of the engine in release mode: HOURS (default 24) of simulated 48 kHz audio, faster than
# real time, through tests/soak.rs. Fails on level drift, memory growth or non-finite output; prints
# one row per simulated hour (output/input level, repeat error, RSS, live heap) and a summary.
#   scripts/soak.sh [HOURS]          e.g. nice -n 19 scripts/soak.sh 24
set -euo pipefail
cd "$(dirname "$0")/.."

HOURS="${1:-24}"
case "$HOURS" in
  '' | *[!0-9]*) echo "usage: $0 [HOURS]   (a whole number, default 24)" >&2; exit 2 ;;
esac
LOG="target/soak-${HOURS}h.log"
mkdir -p target

echo "== building (release): cargo test --release --test soak --no-run"
cargo test --release --test soak --no-run 2>&1 | tee "$LOG.build"
BIN=$(sed -n 's/.*Executable .*(\(.*\))$/\1/p' "$LOG.build" | tail -1)
[ -x "$BIN" ] || { echo "no soak test binary found" >&2; exit 1; }

# The test binary is what `cargo test --release --test soak -- --nocapture` runs; running it directly
# keeps cargo from holding the shared target directory's lock for the whole soak.
echo "== soaking ${HOURS} h of simulated audio: QUELL_SOAK_MINUTES=$((HOURS * 60)) $BIN --nocapture"
echo "   (log: $LOG)"
start=$(date +%s)
status=0
QUELL_SOAK_MINUTES=$((HOURS * 60)) "$BIN" --nocapture 2>&1 | tee "$LOG" || status=$?
end=$(date +%s)

echo
echo "== per-hour table (${HOURS} h simulated, $((end - start)) s wall)"
grep -E '^soak (hour|minute)' "$LOG" || true
grep -E '^soak summary' "$LOG" || true
if [ "$status" -ne 0 ] || ! grep -q 'test result: ok' "$LOG"; then
  echo "== SOAK FAILED (see $LOG)" >&2
  exit 1
fi
echo "== soak passed"
