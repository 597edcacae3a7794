#!/usr/bin/env bash
# The quality issue's lever ablation: fine-tunes of the shipped standard model on the same data, the
# same step budget and the same seed, with one lever on or off at a time. Each run is resumable
# (train.py --resume) and skipped when its last.pt already holds the full budget.
#   ARMS="base speech spec both teacher_oracle teacher blend"  STEPS=800
# Needs: release quell, training/data/dumps/{train_w,dev_v2} (and teach_* for the teacher arms), see
# training/README.md "Quality levers". Evaluate with training/experiments/eval_levers.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=training/.venv/bin/python
D=training/data/dumps
STEPS=${STEPS:-800}
ARMS=${ARMS:-base speech spec both}
run() { # name data-dir [train.py options]
    local name=$1 data=$2; shift 2
    nice -n 8 $PY training/train.py --data "$D/$data" --val "$D/dev_v2" --out "training/runs/lever_$name" \
        --init models/standard.safetensors --dense 128 --hidden 128 --layers 2 --batch 32 --seq 400 \
        --steps "$STEPS" --lr 3e-4 --warmup 50 --seed 6 --dropout 0.1 --over-suppress 0.0 --keep \
        --val-minutes 4 --resume "$@"
}
for arm in $ARMS; do
    case $arm in
        base)           run base train_w ;;
        speech)         run speech train_w --speech-weight 5 ;;
        spec)           run spec train_w --spec-weight 1 ;;
        both)           run both train_w --speech-weight 5 --spec-weight 1 ;;
        teacher_oracle) run teacher_oracle teach_oracle ;;
        teacher)        run teacher teach_teacher ;;
        blend)          run blend teach_blend ;;
        *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
done
