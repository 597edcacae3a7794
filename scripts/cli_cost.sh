#!/usr/bin/env bash
# Whole-process CPU (user+sys) of `quell denoise` (default and tiny model) against nnnoiseless
# (RNNoise 0.1's streaming CLI) on the same long file, one core, several runs each; prints the
# medians, the spread (min-max) and the ratios. Targets: default <= 1.0x, tiny <= 0.5x nnnoiseless.
#
# usage: scripts/cli_cost.sh [WORK_DIR]   env: RUNS (default 5), SECS (default 204)
# Needs ffmpeg, GNU time, taskset, and cargo (nnnoiseless is built once into WORK_DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="${1:-$TARGET/cli-cost}"
RUNS="${RUNS:-5}"
SECS="${SECS:-204}"
mkdir -p "$WORK"
command -v ffmpeg >/dev/null || apt-get install -y ffmpeg >/dev/null

(cd "$ROOT" && cargo build --release -q -p quell-cli)
QUELL="$TARGET/release/quell"
NNN="$WORK/nnnoiseless/bin/nnnoiseless"
[ -x "$NNN" ] || cargo install -q --root "$WORK/nnnoiseless" nnnoiseless --features bin

# 48 kHz mono 16-bit: the format nnnoiseless takes. Speech-like tone bursts in pink noise.
IN="$WORK/talk.wav"
[ -s "$IN" ] || ffmpeg -v error -y \
  -f lavfi -i "sine=frequency=180:sample_rate=48000:duration=$SECS" \
  -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05:duration=$SECS" \
  -filter_complex "[0]volume='0.3*gt(sin(2*PI*0.7*t),0)':eval=frame[s];[s][1]amix=inputs=2" \
  -ac 1 -c:a pcm_s16le "$IN"

# Prints one run's user+sys CPU seconds.
cpu_of() {
  /usr/bin/time -f '%U %S' -o "$WORK/t" taskset -c 0 "$@" >/dev/null 2>&1
  awk '{print $1 + $2}' "$WORK/t"
}
stats() { # median min max of a .runs file
  sort -g "$WORK/$1.runs" | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
    printf "%.3f %.3f %.3f\n", m, v[1], v[NR]}'
}

# Interleaved rounds, so load from other users of the machine falls on all three alike.
rm -f "$WORK"/*.runs
for _ in $(seq "$RUNS"); do
  cpu_of "$NNN" "$IN" "$WORK/out_nnn.wav" >> "$WORK/nnnoiseless.runs"
  cpu_of "$QUELL" denoise "$IN" -o "$WORK/out_std.wav" --quiet --model standard >> "$WORK/standard.runs"
  cpu_of "$QUELL" denoise "$IN" -o "$WORK/out_tiny.wav" --quiet --model tiny >> "$WORK/tiny.runs"
done

read -r NM NLO NHI < <(stats nnnoiseless)
echo "input: $SECS s of 48 kHz mono 16-bit WAV; $RUNS runs each, pinned to CPU 0 (taskset -c 0)"
printf '%-12s median %7.3f s CPU (min %.3f, max %.3f)\n' nnnoiseless "$NM" "$NLO" "$NHI"
for name in standard tiny; do
  read -r M LO HI < <(stats "$name")
  printf '%-12s median %7.3f s CPU (min %.3f, max %.3f)  ratio %.2fx nnnoiseless\n' \
    "quell $name" "$M" "$LO" "$HI" "$(echo "$M / $NM" | bc -l)"
done
