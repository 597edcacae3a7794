#!/usr/bin/env bash
# Every test that needs no locally built validator: unit, engine, CLI, model files, parity, the
# allocation check, the real-host tests (our clap-sys harness on Quell.clap, pedalboard on
# Quell.vst3), the LADSPA plugin in applyplugin and PipeWire, and the editor driven with xdotool in
# the standalone. Debug builds with `assert_process_allocs`, so any allocation in process() aborts.
set -euo pipefail
cd "$(dirname "$0")/.."

FEATURES="--features assert_process_allocs"
# One-shot builds gain nothing from incremental caches, which were a third of the target dir.
export CARGO_INCREMENTAL=0
df -h . | tail -1 | awk '{print "== disk: " $4 " free"}'
# A full disk shows up late and obscurely (the linker dies with a bus error), so say it up front.
if [ "$(df -Pk . | awk 'NR==2 {print $4}')" -lt $((6 * 1024 * 1024)) ]; then
  echo "== WARNING: under 6 GB free; a clean build and test run needs about 5 GB"
fi

# The quality tests speak test sentences with espeak-ng.
if ! command -v espeak-ng >/dev/null 2>&1; then
  echo "== installing espeak-ng"
  (apt-get install -y espeak-ng || (apt-get update && apt-get install -y espeak-ng)) >/dev/null
fi

# The CLI's pipeline test runs `ffmpeg ... | quell denoise - -o - | ffmpeg ...` for real.
if ! command -v ffmpeg >/dev/null 2>&1; then
  echo "== installing ffmpeg"
  (apt-get install -y ffmpeg || (apt-get update && apt-get install -y ffmpeg)) >/dev/null
fi

echo "== build and bundle (debug, allocation checks on)"
cargo build --lib --bins $FEATURES
cargo xtask bundle quell $FEATURES
# Without the standalone feature there is no standalone app to bundle; the `quell` CLI must not pose
# as one (nice-plug's bundler takes any binary named like the package).
if [ -e target/bundled/Quell ]; then
  echo "FAIL: target/bundled/Quell exists without the standalone feature"; exit 1
fi

echo "== cargo tests"
cargo test --workspace $FEATURES

echo "== host tests (pedalboard loads Quell.vst3)"
VENV=target/host-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet -r tests/host/requirements.txt
"$VENV/bin/python" -m pytest -q tests/host

echo "== LADSPA plugin in real hosts (applyplugin, PipeWire filter-chain)"
bash scripts/ladspa_hosts.sh

echo "== editor (standalone under Xvfb, driven by xdotool)"
bash scripts/editor_check.sh target/editor-check

du -sh target | awk '{print "== target dir: " $1}'
