#!/usr/bin/env bash
# Issue 11: the long run, in legs of one sitting each. Every leg continues the standard-layout
# from-scratch run with the convolutional front end (`CONV=4 scratch_v2.sh`, 9000 steps) with a second
# cosine cycle (warm restart at lr 5e-4, STEPS steps, default 6000: about an hour on this machine's two
# cores) over 24 h of mixes: two fresh 6 h dumps (`long_a`, `long_b`, seeds 131 and 132, formant
# shifting on half the speech; about 3 min each) beside the two 6 h dumps the first cycle saw. Same
# losses as the first cycle (speech weight 5, the output-spectrum loss). LEG (a, b, c, ...) names the
# leg and sets its data order, so legs from the same start are different continuations that can be
# averaged (experiments/soup.py). A leg cut short continues where it stopped: rerun the same command and
# `--resume` picks up training/runs/long_conv4_LEG/last.pt (saved at every validation, every 10 min).
# When the steps are spent the heads are added (standard_heads.sh) into
# training/runs/long_conv4_LEG/standard.safetensors.
# FROM=x chains a leg after leg x instead (a third cosine cycle from long_conv4_x/last.pt): its data
# swaps the first cycle's scratch_f, seen most, for a fresh 6 h dump long_LEG (seed 110 + SEED), so
# every cycle meets mixes it has not seen. E.g. `LEG=a2 FROM=a bash training/experiments/long_run.sh`.
# FROM=a6 needs no earlier run: without long_conv4_a6/last.pt it starts from the shipped standard's
# network, which is leg a6's trunk with its weights rounded to float16 and its VAD bias shifted by
# 0.25 (recipes/shipped_models.sh, STEP=member), e.g. `LEG=a7 FROM=a6`; hq's member is leg a6 too,
# with its own reverb head.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=training/data/dumps
Q=target/release/quell
PY=training/.venv/bin/python
FIRST=training/runs/scratch_v2_conv4
LEG=${LEG:-a}
R=training/runs/long_conv4_$LEG
[ -x "$Q" ] || cargo build --release --bin quell
# The first cycle, unless this leg continues another.
[ -n "${FROM:-}" ] || [ -f "$FIRST/standard.safetensors" ] || CONV=4 bash training/experiments/scratch_v2.sh
bash training/experiments/dumps.sh long_a long_b
# Seed 22 + the leg's letter + 10 per step of its number: a 22, b 23, a2 32, a3 42, a4 52 (the shipped
# leg a3 is the exception: recipes/shipped_models.sh says why it passes SEED=32).
N=${LEG:1}
SEED=${SEED:-$(( 22 + $(printf '%d' "'$LEG") - 97 + 10 * (${N:-1} - 1) ))}
INIT=$FIRST/last.pt
DATA=("$D/long_a" "$D/long_b" "$D/scratch_f" "$D/voices_v2")
TRUNK=()
if [ -n "${FROM:-}" ]; then
    INIT=training/runs/long_conv4_$FROM/last.pt
    if [ "$FROM" = a6 ] && [ ! -f "$INIT" ]; then
        # A new checkout has no runs: leg a6's trunk is the shipped standard (models/standard.md), so
        # the chain continues from that file (its heads left behind: they are refitted after the leg).
        INIT=models/standard.safetensors
        TRUNK=(--init-trunk)
    fi
    [ -f "$INIT" ] || LEG=$FROM FROM= bash "$0"
    SEED=$SEED bash training/experiments/dumps.sh "long_$LEG"
    DATA=("$D/long_$LEG" "$D/long_a" "$D/long_b" "$D/voices_v2")
    # The first cycle's dumps this leg still reads (scratch_v2.sh makes them when the first cycle runs).
    bash training/experiments/dumps.sh voices_v2 dev_v2s
fi
if [ ! -f "$R/standard.safetensors" ]; then
    nice -n 8 $PY training/train.py --data "${DATA[@]}" \
        --val "$D/dev_v2s" --out "$R" --init "$INIT" "${TRUNK[@]}" --conv-channels 4 --dense 128 --hidden 128 \
        --layers 2 --batch 32 --seq 400 --steps "${STEPS:-6000}" --lr "${LR:-5e-4}" --warmup 200 --seed "$SEED" \
        --dropout 0.1 --over-suppress 0.0 --speech-weight 5 --spec-weight 1 --threads 2 --val-minutes 10 \
        --keep --resume
fi
bash training/experiments/standard_heads.sh "$R"
