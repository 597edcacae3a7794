#!/usr/bin/env bash
# Issue 11, tiny's blocker: no reverb head fitted on tiny_long_run.sh's frozen network keeps a room at
# Reverb Reduction 0 (tests/reverb.rs) without letting noise through on dry speech (issue 13's gap),
# because nothing in its training asked its 96 states to tell a room's tail from noise. This third
# leg continues leg 2 (a warm restart, like leg 2 from leg 1) with the reverb term trained jointly
# (train.py --reverb-weight, --reverb-over-suppress): a fresh 6 h dump `tiny_3r` carries reverb
# targets (half its mixes in rooms up to 1.3 s); the other dumps train the rest of the network only.
# The head is then refitted on the frozen result as before (reverb_head.py).
#   bash training/experiments/tiny_room_leg.sh      # needs training/runs/tiny_v2_2/last.pt (LEG=2 tiny_long_run.sh)
# The ablation without the joint term (same data, steps and seed):
#   RW=0 R=training/runs/tiny_v2_3d bash training/experiments/tiny_room_leg.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
L=training/data/lists
D=training/data/dumps
Q=target/release/quell
PY=training/.venv/bin/python
R=${R:-training/runs/tiny_v2_3r}
STEPS=${STEPS:-6000}
RW=${RW:-1}
ROS=${ROS:-6}
[ -x "$Q" ] || cargo build --release --bin quell
[ -f training/runs/tiny_v2_2/last.pt ] || LEG=2 bash training/experiments/tiny_long_run.sh
bash training/experiments/dumps.sh voices_v2 dev_v2s dev_v2 long_a long_b
[ -f "$D/tiny_3r/meta.json" ] || "$Q" dump-features --speech "$L/speech_train_v2.txt" \
    --noise "$L/noise_train_v2.txt" --out "$D/tiny_3r" --hours 6 --seed 303 --spectra \
    --formant-shift 0.5 --reverb-targets --reverb-prob 0.5 --rt60-max 1.3 --threads 2 --quiet
nice -n 8 $PY training/train.py --data "$D/tiny_3r" "$D/long_a" "$D/long_b" "$D/voices_v2" \
    --val "$D/dev_v2s" --out "$R" --lr 5e-4 --init training/runs/tiny_v2_2/last.pt --conv-channels 4 \
    --dense 96 --hidden 96 --layers 1 --batch 32 --seq 400 --steps "$STEPS" --warmup 200 --seed 43 \
    --dropout 0.1 --over-suppress 0.0 --speech-weight 5 --spec-weight 1 --reverb-weight "$RW" \
    --reverb-over-suppress "$ROS" --threads 2 --val-minutes 10 --keep --resume
[ -f "$R/tiny_trunk.safetensors" ] || $PY training/export.py --ckpt "$R/last.pt" --name tiny \
    --out "$R/tiny_trunk.safetensors" --pitch-comb 0 --f16-weights --parity-data "$D/dev_v2" \
    --parity-out "$R/parity.safetensors" --description "Tiny: a causal convolutional front end, dense 96, \
GRU 1x96, 32 ERB bands + 64 long-window bins (feature version 2), 5 ms hop."
echo "wrote $R/tiny_trunk.safetensors"
