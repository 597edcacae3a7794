#!/usr/bin/env bash
# Issue 11, tiny's untried lever: the standard model's winning recipe (a causal convolutional front end
# from step 0, feature version 2, many cosine cycles on fresh mixes: long_run.sh) on a network small
# enough for tiny's CPU bar (1.5x the issue-time tiny, 14.4 us per 10 ms: at most about 21.6 us).
# DENSE x HIDDEN x LAYERS (default 96 x 96 x 1) with C=4 kernels; the file is exported without the
# pitch comb (tiny's own choice). Legs of one sitting each, resumable like long_run.sh:
#   LEG=1 bash training/experiments/tiny_long_run.sh     # from scratch, STEPS (default 9000) at lr 1e-3
#   LEG=2 bash training/experiments/tiny_long_run.sh     # warm restart from leg 1 at lr 5e-4, 6000 steps
# Every leg reads 24 h of the standard long run's v2 dumps (long_a, long_b, voices_v2 and one fresh
# 6 h dump per leg: the leg's own `tiny_N`, seed 300 + N). At the end of a leg the network is exported
# (float16 weights, no heads) to training/runs/tiny_v2_LEG/tiny_trunk.safetensors, to be scored with
# eval/evaluate.py against `tiny` (the reverb head and the release limit come after, as for tiny).
# A leg with more to it (tiny_room_leg.sh) sets R (run folder), DUMP (its fresh dump's name, one that
# experiments/dumps.sh has a recipe for) and TRAIN_ARGS (extra train.py options).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=training/data/dumps
Q=target/release/quell
PY=training/.venv/bin/python
LEG=${LEG:-1}
DENSE=${DENSE:-96}
HIDDEN=${HIDDEN:-96}
LAYERS=${LAYERS:-1}
R=${R:-training/runs/tiny_v2_$LEG}
DUMP=${DUMP:-tiny_$LEG}
read -r -a TRAIN_EXTRA <<< "${TRAIN_ARGS:-}"
[ -x "$Q" ] || cargo build --release --bin quell
bash training/experiments/dumps.sh voices_v2 dev_v2s dev_v2 long_a long_b
bash training/experiments/dumps.sh "$DUMP"
if [ "$LEG" = 1 ]; then
    START=(--lr 1e-3); STEPS=${STEPS:-9000}
else
    START=(--lr 5e-4 --init "training/runs/tiny_v2_$(( LEG - 1 ))/last.pt"); STEPS=${STEPS:-6000}
    [ -f "training/runs/tiny_v2_$(( LEG - 1 ))/last.pt" ] ||
        env -u R -u DUMP -u TRAIN_ARGS LEG=$(( LEG - 1 )) bash "$0"
fi
nice -n 8 $PY training/train.py --data "$D/$DUMP" "$D/long_a" "$D/long_b" "$D/voices_v2" \
    --val "$D/dev_v2s" --out "$R" "${START[@]}" --conv-channels 4 --dense "$DENSE" --hidden "$HIDDEN" \
    --layers "$LAYERS" --batch 32 --seq 400 --steps "$STEPS" --warmup 200 --seed $(( 40 + LEG )) \
    --dropout 0.1 --over-suppress 0.0 --speech-weight 5 --spec-weight 1 --threads 2 --val-minutes 10 \
    --keep --resume ${TRAIN_EXTRA[@]+"${TRAIN_EXTRA[@]}"}
[ -f "$R/tiny_trunk.safetensors" ] || $PY training/export.py --ckpt "$R/last.pt" --name tiny \
    --out "$R/tiny_trunk.safetensors" --pitch-comb 0 --f16-weights --parity-data "$D/dev_v2" \
    --parity-out "$R/parity.safetensors" --description "Tiny: a causal convolutional front end, dense $DENSE, \
GRU ${LAYERS}x$HIDDEN, 32 ERB bands + 64 long-window bins (feature version 2), 5 ms hop."
echo "wrote $R/tiny_trunk.safetensors"
