#!/usr/bin/env bash
# The shipped standard's last stages on a trained trunk, for the from-scratch runs: export RUN/last.pt,
# then the reverb head (as the recipe's STEP=reverb) and the refinement head (STEP=refine), both on the
# frozen trunk, into RUN/standard.safetensors (RUN/standard_trunk.safetensors keeps the trunk alone, for
# scoring it without the heads). Skipped when RUN/standard.safetensors exists.
# Usage: standard_heads.sh RUN_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
R=${1:?usage: standard_heads.sh RUN_DIR}
D=training/data/dumps
PY=training/.venv/bin/python
M=$R/standard.safetensors
[ -f "$M" ] && { echo "have $M"; exit 0; }
L=training/data/lists
Q=target/release/quell
mk() { # the dumps the heads read, made as recipes/shipped_models.sh STEP=dumps makes them (only these)
    local out=$1; shift
    [ -f "$D/$out/meta.json" ] || "$Q" dump-features --out "$D/$out" --threads 2 --quiet "$@"
}
mk rev_hi --speech "$L/speech_train.txt" --noise "$L/noise_train.txt" --hours 1 --seed 63 --reverb-prob 0.8 \
    --snr-min 5 --snr-max 40 --reverb-targets
mk rev_dev_v2 --speech "$L/speech_dev.txt" --noise "$L/noise_dev.txt" --hours 0.25 --seed 62 --reverb-prob 0.7 \
    --reverb-targets --features 2
mk dev_v2 --speech "$L/speech_dev.txt" --noise "$L/noise_dev.txt" --hours 0.4 --seed 3 --speed-perturb 0
mk voices_v2 --speech "$L/speech_train_v2.txt" --noise "$L/noise_train_v2.txt" --hours 6 --seed 81 --spectra
mk dev_v2s --speech "$L/speech_dev.txt" --noise "$L/noise_dev.txt" --hours 0.4 --seed 3 --speed-perturb 0 --spectra
$PY training/export.py --ckpt "$R/last.pt" --name standard --out "$M.tmp" --parity-data "$D/dev_v2" \
    --parity-out "$R/parity.safetensors" \
    --description "Standard: GRU 2x128, dense 128, 32 ERB bands + 64 long-window bins (feature version 2), 5 ms hop. The default."
cp "$M.tmp" "$R/standard_trunk.safetensors"
$PY training/reverb_head.py --model "$M.tmp" --data "$D/rev_hi" --val "$D/rev_dev_v2" --out "$M.tmp" \
    --parity-out "$R/parity.safetensors" --over-suppress 3 --steps 4000 --lr 3e-3 --threads 2
$PY training/refine_head.py --model "$M.tmp" --data "$D/voices_v2" --val "$D/dev_v2s" --out "$M.tmp" \
    --parity-out "$R/parity.safetensors" --bins 40 --over-suppress 0.3 --threads 2
mv "$M.tmp" "$M"
echo "wrote $M"
