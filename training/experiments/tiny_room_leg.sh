#!/usr/bin/env bash
# Issue 11, tiny's blocker: no reverb head fitted on tiny_long_run.sh's frozen network keeps a room at
# Reverb Reduction 0 (tests/reverb.rs) without letting noise through on dry speech (issue 13's gap),
# because nothing in its training asked its 96 states to tell a room's tail from noise. This third
# leg is tiny_long_run.sh's LEG=3 (a warm restart from leg 2, 6000 steps at lr 5e-4, seed 43) with the
# reverb term trained jointly (train.py --reverb-weight, --reverb-over-suppress): its fresh 6 h dump
# `tiny_3r` carries reverb targets (half its mixes in rooms up to 1.3 s); the other dumps train the
# rest of the network only. The head is then refitted on the frozen result (reverb_head.py, STEP=tiny2).
#   bash training/experiments/tiny_room_leg.sh      # runs legs 1 and 2 first if they are missing
# The ablation without the joint term (same data, steps and seed):
#   RW=0 R=training/runs/tiny_v2_3d bash training/experiments/tiny_room_leg.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LEG=3 R=${R:-training/runs/tiny_v2_3r} DUMP=tiny_3r \
    TRAIN_ARGS="--reverb-weight ${RW:-1} --reverb-over-suppress ${ROS:-6}" \
    exec bash training/experiments/tiny_long_run.sh
