#!/usr/bin/env bash
# The shipped standard's last stages on a trained trunk, for the from-scratch runs: export RUN/last.pt,
# then the reverb head (as the recipe's STEP=reverb) and the refinement head (STEP=refine), both on the
# frozen trunk, into RUN/standard.safetensors (RUN/standard_trunk.safetensors keeps the trunk alone, for
# scoring it without the heads). Skipped when RUN/standard.safetensors exists. CKPT, when given, is the
# network to start from in place of RUN/last.pt (a model file such as training/checkpoints/second_N).
# Usage: standard_heads.sh RUN_DIR [CKPT]
set -euo pipefail
cd "$(dirname "$0")/../.."
R=${1:?usage: standard_heads.sh RUN_DIR [CKPT]}
CKPT=${2:-$R/last.pt}
D=training/data/dumps
PY=training/.venv/bin/python
M=$R/standard.safetensors
[ -f "$M" ] && { echo "have $M"; exit 0; }
mkdir -p "$R"
bash training/experiments/dumps.sh rev_hi rev_dev_v2 dev_v2 voices_v2 dev_v2s
$PY training/export.py --ckpt "$CKPT" --name standard --out "$M.tmp" --parity-data "$D/dev_v2" \
    --parity-out "$R/parity.safetensors" \
    --description "Standard: GRU 2x128, dense 128, 32 ERB bands + 64 long-window bins (feature version 2), 5 ms hop. The default."
cp "$M.tmp" "$R/standard_trunk.safetensors"
$PY training/reverb_head.py --model "$M.tmp" --data "$D/rev_hi" --val "$D/rev_dev_v2" --out "$M.tmp" \
    --parity-out "$R/parity.safetensors" --over-suppress 3 --steps 4000 --lr 3e-3 --threads 2
$PY training/refine_head.py --model "$M.tmp" --data "$D/voices_v2" --val "$D/dev_v2s" --out "$M.tmp" \
    --parity-out "$R/parity.safetensors" --bins 40 --over-suppress 0.3 --threads 2
mv "$M.tmp" "$M"
echo "wrote $M"
