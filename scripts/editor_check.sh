#!/usr/bin/env bash
# The editor, used as a person would: builds the standalone (with the allocation checks on), runs it
# under Xvfb on JACK's dummy backend with noisy speech playing, and drives every control with xdotool
# (scripts/editor_check.py). Screenshots land in OUT (default target/editor-check). Installs the
# system packages it needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/editor-check}

need=()
for t in Xvfb:xvfb jackd:jackd2 xdotool:xdotool import:imagemagick espeak-ng:espeak-ng; do
  command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t#*:}")
done
dpkg -s libasound2-dev libjack-jackd2-dev >/dev/null 2>&1 || need+=(libasound2-dev libjack-jackd2-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y "${need[@]}" || (apt-get update && apt-get install -y "${need[@]}")) >/dev/null
fi

echo "== build the standalone (debug, allocation checks on)"
cargo build --bin quell_standalone --features standalone,assert_process_allocs

VENV=target/host-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet -r scripts/requirements-live.txt

echo "== drive the editor"
"$VENV/bin/python" scripts/editor_check.py target/debug/quell_standalone "$OUT"
