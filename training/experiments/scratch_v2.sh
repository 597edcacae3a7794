#!/usr/bin/env bash
# Issue 11, lever 1 (in progress): the standard architecture trained from scratch with this round's
# levers from step 0: the v2 lists, formant shifting on half the speech (a new 6 h dump, seed 101) next to
# the 6 h `voices_v2` dump, speech weight 5 and the output-spectrum loss. STEPS (default 9000) with the
# lr schedule over the steps; at ~0.6 s a step on this 2-core machine that is about 90 minutes. A run cut
# short continues where it stopped: rerun this script with the same STEPS and `--resume` picks up
# training/runs/scratch_v2/last.pt (weights, optimiser, step and budget). Then: export, refinement and reverb heads on the frozen trunk
# (STEP=refine / STEP=reverb recipes), a soup with its continuations, and evaluate against `standard`.
# CONV=C adds the causal convolutional front end (C kernels of 3 frames x 3 features) and runs in
# training/runs/scratch_v2_convC instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
L=training/data/lists
D=training/data/dumps
Q=target/release/quell
[ -x "$Q" ] || cargo build --release --bin quell
[ -f "$D/scratch_f/meta.json" ] || "$Q" dump-features --speech "$L/speech_train_v2.txt" \
    --noise "$L/noise_train_v2.txt" --out "$D/scratch_f" --hours 6 --seed 101 --spectra --formant-shift 0.5 \
    --threads 2 --quiet
bash training/experiments/dumps.sh voices_v2 dev_v2s
R=training/runs/scratch_v2${CONV:+_conv$CONV}
FRONT=()
[ -z "${CONV:-}" ] || FRONT=(--conv-channels "$CONV")
nice -n 8 training/.venv/bin/python training/train.py --data "$D/scratch_f" "$D/voices_v2" --val "$D/dev_v2s" \
    --out "$R" "${FRONT[@]}" --dense 128 --hidden 128 --layers 2 --batch 32 --seq 400 --steps "${STEPS:-9000}" \
    --lr 1e-3 --warmup 200 --seed 21 --dropout 0.1 --over-suppress 0.0 --speech-weight 5 --spec-weight 1 \
    --threads 2 --val-minutes 10 --resume
# Then the shipped standard's remaining stages on the frozen trunk, into the run folder: export, the
# reverb head and the refinement head (standard_heads.sh; skipped when done). The training stage above
# does nothing more once its steps are spent.
bash training/experiments/standard_heads.sh "$R"
