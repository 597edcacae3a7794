#!/usr/bin/env bash
# The deep filter arms of training/README.md ("A deep filter on the low band") in the engine's form now
# (bounded by 1 - g, the band's energy given back; cw0, h64 and o5 were measured before the energy
# step, with 97e1352's engine and trainer): one head per arm fitted
# on the frozen shipped standard (training/deep_filter_head.py, 2000 steps of 4096 frames from 2 h of
# the v2 lists' mixes), then every arm scored on the main dev set next to the standard without one.
#   bash training/experiments/deep_filter_arms.sh          # after training/data/prepare.sh
#   ARMS="os1 os3" bash training/experiments/deep_filter_arms.sh
# Heads go to training/runs/deep_filter/ARM.safetensors, the report to training/runs/deep_filter/eval.md
# (paired differences: training/eval/paired.py --json training/runs/deep_filter/eval.json
#  --ref quell:models/standard.safetensors). Each arm takes about 4 min with 2 threads here.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=training/.venv/bin/python
Q=target/release/quell
D=training/data/dumps
OUT=training/runs/deep_filter
ARMS=${ARMS:-"os03 os1 os3"}
[ -x "$Q" ] || cargo build --release --bin quell
# The two dumps of shipped_models.sh's STEP=dumps that the filter needs (same commands).
[ -f "$D/filter_v2/meta.json" ] || "$Q" dump-features --speech training/data/lists/speech_train_v2.txt \
    --noise training/data/lists/noise_train_v2.txt --out "$D/filter_v2" --hours 2 --seed 81 --spectra \
    --complex-bins 64 --threads 2 --quiet
[ -f "$D/dev_v2f/meta.json" ] || "$Q" dump-features --speech training/data/lists/speech_dev.txt \
    --noise training/data/lists/noise_dev.txt --out "$D/dev_v2f" --hours 0.4 --seed 3 \
    --speed-perturb 0 --spectra --complex-bins 64 --threads 2 --quiet
[ -d training/data/devset ] || $PY training/eval/make_devset.py --speech training/data/lists/speech_dev.txt \
    --noise training/data/lists/noise_dev.txt --out training/data/devset --per-snr 20 --seed 2026
mkdir -p "$OUT"
models=models/standard.safetensors
for arm in $ARMS; do
    case $arm in
        os03) opts="--over-suppress 0.3" ;;           # the default loss
        os1) opts="--over-suppress 1" ;;
        os3) opts="--over-suppress 3" ;;
        cw0) opts="--over-suppress 0.3 --complex-weight 0" ;;  # magnitude terms only
        h64) opts="--over-suppress 1 --hidden 64" ;;
        o5) opts="--over-suppress 1" ;;  # order 5 below
        *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
    order=3
    [ "$arm" = o5 ] && order=5
    [ -f "$OUT/$arm.safetensors" ] || $PY training/deep_filter_head.py --model models/standard.safetensors \
        --data "$D/filter_v2" --val "$D/dev_v2f" --bins 40 --order $order --steps 2000 --threads 2 \
        --out "$OUT/$arm.safetensors" $opts 2>&1 | tee "$OUT/$arm.log" | grep -E "^deep filter|dev loss without"
    models="$models,$OUT/$arm.safetensors"
done
$PY training/eval/evaluate.py --devset training/data/devset --quell "$Q" --models "$models" --systems quell \
    --out "$OUT/eval.md"
$PY training/eval/paired.py --json "$OUT/eval.json" --ref quell:models/standard.safetensors
