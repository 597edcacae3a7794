#!/usr/bin/env bash
# Spectrograms of a noisy file before and after Quell, stacked in one PNG (needs sox and imagemagick).
# usage: scripts/spectrogram.sh NOISY.wav OUT.png [MODEL]
set -euo pipefail
in=$1; out=$2; model=${3:-standard}
tmp=$(mktemp -d)
# QUELL=path/to/quell skips the build.
${QUELL:-cargo run --quiet --bin quell --} denoise "$in" -o "$tmp/den.wav" --model "$model" --quiet
sox "$in" -n remix 1 spectrogram -x 800 -y 257 -z 90 -t "noisy input" -o "$tmp/a.png"
sox "$tmp/den.wav" -n remix 1 spectrogram -x 800 -y 257 -z 90 -t "Quell ($model)" -o "$tmp/b.png"
convert "$tmp/a.png" "$tmp/b.png" -append "$out"
rm -r "$tmp"
