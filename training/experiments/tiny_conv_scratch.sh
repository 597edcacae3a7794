#!/usr/bin/env bash
# Issue 11 §5: does the causal convolutional front end help the tiny model from step 0 on a longer
# budget than the architecture study's? The tiny layout (GRU 1 x 64, dense 64, feature version 1) from
# random weights on the v2 lists' 4 h `voices_v2_1` dump with the speech-weighted loss, STEPS (default
# 6000) of the tiny recipe (lr 2e-3), with and without the front end (CONV kernels of 3 frames x 3
# bands), same seed, side by side on one thread each; then both scored in one run, paired.
# Resumable: rerun with the same STEPS.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=training/.venv/bin/python
D=training/data/dumps
STEPS=${STEPS:-6000}
CONV=${CONV:-4}
for d in voices_v2_1 dev_v1; do
    [ -f "$D/$d/meta.json" ] || { echo "missing $D/$d: run STEP=dumps of training/recipes/shipped_models.sh" >&2; exit 1; }
done
run() { # name [train.py options]
    local name=$1; shift
    nice -n 8 $PY training/train.py --data "$D/voices_v2_1" --val "$D/dev_v1" --out "training/runs/lever_$name" \
        --dense 64 --hidden 64 --layers 1 --batch 32 --seq 400 --steps "$STEPS" --lr 2e-3 --seed 0 \
        --speech-weight 5 --threads 1 --val-minutes 10 --resume "$@" > "training/runs/lever_$name.out" 2>&1
}
mkdir -p training/runs
run tiny_scratch &
run tiny_scratch_conv --conv-channels "$CONV" &
wait
$PY training/experiments/eval_levers.py --runs tiny_scratch tiny_scratch_conv --ref tiny_scratch \
    --devset training/data/devset --out training/runs/tiny_conv_scratch.md
