#!/usr/bin/env bash
# Peak memory of `quell denoise` on a three-hour 48 kHz stereo recording, as WAV and as FLAC input.
# Streaming keeps it constant: the limit checked here is 64 MiB.
#
# usage: scripts/cli_memory.sh [WORK_DIR]   (needs ffmpeg and GNU time; ~4 GB free disk in WORK_DIR)
# env: MODEL (default: the default model), HOURS (default 3), KEEP=1 keeps the generated files.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/cli-memory}"
HOURS="${HOURS:-3}"
LIMIT_KIB=$((64 * 1024))
mkdir -p "$WORK"
command -v ffmpeg >/dev/null || apt-get install -y ffmpeg >/dev/null
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null

(cd "$ROOT" && cargo build --release -q -p quell-cli)
QUELL="${CARGO_TARGET_DIR:-$ROOT/target}/release/quell"
SECS=$((HOURS * 3600))

# ffmpeg synthesises and writes a block at a time, so the generator's own memory stays small.
# A tone with noise, quiet enough not to clip: 16-bit WAV is 2 bytes x 2 channels x 48000 x SECS.
IN_WAV="$WORK/long.wav"
IN_FLAC="$WORK/long.flac"
if [ ! -s "$IN_WAV" ]; then
  ffmpeg -v error -y -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=$SECS" \
    -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05:duration=$SECS" \
    -filter_complex "[0][1]amix=inputs=2,pan=stereo|c0=c0|c1=0.7*c0" -c:a pcm_s16le "$IN_WAV"
fi
[ -s "$IN_FLAC" ] || ffmpeg -v error -y -i "$IN_WAV" -c:a flac "$IN_FLAC"

status=0
for IN in "$IN_WAV" "$IN_FLAC"; do
  OUT="$WORK/out.${IN##*.}"
  LOG="$WORK/time.log"
  /usr/bin/time -v "$QUELL" denoise "$IN" -o "$OUT" --quiet ${MODEL:+--model "$MODEL"} 2>"$LOG"
  PEAK=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LOG")
  CPU=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$LOG")
  printf '%-5s input %s h: peak RSS %d KiB (%.1f MiB), CPU %.1f s, input %s, output %s\n' \
    "${IN##*.}" "$HOURS" "$PEAK" "$(echo "$PEAK / 1024" | bc -l)" "$CPU" \
    "$(du -h "$IN" | cut -f1)" "$(du -h "$OUT" | cut -f1)"
  [ "$PEAK" -lt "$LIMIT_KIB" ] || { echo "FAIL: over 64 MiB"; status=1; }
  rm -f "$OUT"
done
[ "${KEEP:-0}" = 1 ] || rm -f "$IN_WAV" "$IN_FLAC"
exit $status
