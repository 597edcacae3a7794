#!/usr/bin/env bash
# Issue 11, hq: train hq's own network *for the pair* it plays in. The engine plays a file with a member
# as the mean of both networks' gains (FORMATS.md "Members"), so here the gain and output-spectrum losses
# are on that mean (`train.py --partner`), with hq's member (leg a6, its heads as in hq) frozen beside the
# network being trained. Starts from hq's own network (the soup, trained apart from leg a6) and runs one
# cosine cycle (warm restart at lr 5e-4, STEPS steps, default 6000) on 24 h of mixes leg a6 never read
# (`long_a7`, `tiny_1`, `tiny_2`, `tiny_3r`), so the network learns the member's errors where the member
# has not fitted its data. Resumable: rerun the same command and `--resume` picks up RUN/last.pt.
# Then its heads are fitted on it alone (standard_heads.sh) and the pair is written to RUN/hq.safetensors
# (float16, the member copied in as recipes/shipped_models.sh STEP=member does).
# Needs the recipe's runs: training/runs/soup_standard/soup_f16.safetensors and
# training/runs/long_conv4_a6/hq_member_f16.safetensors (STEP=member).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=training/data/dumps
PY=training/.venv/bin/python
R=${R:-training/runs/pair_soup_a6}
S=training/runs/soup_standard
M=training/runs/long_conv4_a6
bash training/experiments/dumps.sh dev_v2s rev_hi rev_dev_v2 dev_v2 voices_v2 long_a7 tiny_1 tiny_2 tiny_3r
if [ ! -f "$R/standard.safetensors" ]; then
    nice -n 8 $PY training/train.py --data "$D/long_a7" "$D/tiny_1" "$D/tiny_2" "$D/tiny_3r" \
        --val "$D/dev_v2s" --out "$R" --init "$S/soup_f16.safetensors" --init-trunk \
        --partner "$M/hq_member_f16.safetensors" --dense 128 --hidden 128 --layers 2 --batch 32 --seq 400 \
        --steps "${STEPS:-6000}" --lr "${LR:-5e-4}" --warmup 200 --seed "${SEED:-91}" --dropout 0.1 \
        --over-suppress 0.0 --speech-weight 5 --spec-weight 1 --threads 2 --val-minutes 10 --keep --resume
fi
bash training/experiments/standard_heads.sh "$R"
if [ ! -f "$R/hq.safetensors" ]; then
    $PY training/to_f16.py --model "$R/standard.safetensors" --out "$R/own_f16.safetensors" \
        --parity "$R/parity.safetensors" --parity-out "$R/own_f16_parity.safetensors"
    $PY training/add_member.py --base "$R/own_f16.safetensors" --member "$M/hq_member_f16.safetensors" --name hq \
        --out "$R/hq.safetensors" --parity "$R/own_f16_parity.safetensors" --parity-out "$R/hq_parity.safetensors"
fi
echo "wrote $R/hq.safetensors"
