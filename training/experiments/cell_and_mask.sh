#!/usr/bin/env bash
# GRU vs LSTM (same width and depth) x 32 ERB bands vs one band per FFT bin (241 "bands" = a per-bin
# mask), on the same data with the same step budget. Reruns the whole study; every stage is skipped
# when its output exists, so an interrupted run picks up where it stopped.
#
#   bash training/experiments/cell_and_mask.sh            # from the repo root
#
# Environment (all optional):
#   QUELL=path/to/quell   use this binary (default: cargo build --release, target/release/quell)
#   HOURS=4 SEED=7        training dump size and seed (both layouts get the same mixes)
#   STEPS=2000            optimiser steps per run (32 x 400-frame chunks each)
#   DENSE=64 HIDDEN=64 LAYERS=1   model size (the shipped `tiny` layout)
#   LIMIT=0               dev clips per SNR to score (0 = all 120 clips)
#   PAR=2                 training runs at once (each one thread, nice 19)
#   RUNS="gru_erb32 lstm_erb32 gru_bins lstm_bins cnngru_erb32"   which cells of the table to (re)do
#                         (`cnngru` = the GRU with a causal convolutional front end of CONV kernels)
#   CONV=4 CONV_TIME=3 CONV_FREQ=3   that front end: kernels, frames (this one and past), features
#   BENCH=1               also run `cargo bench --bench engine_cost` on the models of RUNS
#   OUT=training/runs/cell_and_mask   runs, models, reports
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
PY=training/.venv/bin/python
HOURS=${HOURS:-4}
SEED=${SEED:-7}
STEPS=${STEPS:-2000}
DENSE=${DENSE:-64}
HIDDEN=${HIDDEN:-64}
LAYERS=${LAYERS:-1}
LIMIT=${LIMIT:-0}
PAR=${PAR:-2}
BENCH=${BENCH:-1}
OUT=${OUT:-training/runs/cell_and_mask}
DUMPS=training/data/dumps
NICE="nice -n 19"
mkdir -p "$OUT"

if [ -z "${QUELL:-}" ]; then
    $NICE cargo build --release --bin quell
    QUELL=target/release/quell
fi
echo "quell binary: $QUELL"

RUNS=${RUNS:-gru_erb32 lstm_erb32 gru_bins lstm_bins cnngru_erb32}
CONV=${CONV:-4}
CONV_TIME=${CONV_TIME:-3}
CONV_FREQ=${CONV_FREQ:-3}

# 1. Dumps: the same mixes (same seed) in each band layout the runs use, plus a small dev dump for
#    parity data.
for L in $(for r in $RUNS; do echo "${r#*_}"; done | sort -u); do
    if [ ! -f "$DUMPS/cm_${L}_${HOURS}h/meta.json" ]; then
        $NICE "$QUELL" dump-features --speech training/data/lists/speech_train.txt \
            --noise training/data/lists/noise_train.txt --out "$DUMPS/cm_${L}_${HOURS}h" \
            --hours "$HOURS" --seed "$SEED" --bands "$L" --features 1 --speed-perturb 0 \
            --threads 1 --quiet
    fi
    if [ ! -f "$DUMPS/cm_${L}_dev/meta.json" ]; then
        $NICE "$QUELL" dump-features --speech training/data/lists/speech_dev.txt \
            --noise training/data/lists/noise_dev.txt --out "$DUMPS/cm_${L}_dev" \
            --hours 0.02 --seed 99 --bands "$L" --features 1 --speed-perturb 0 \
            --threads 1 --quiet
    fi
done
if [ -f "$DUMPS/cm_erb32_${HOURS}h/vad.npy" ] && [ -f "$DUMPS/cm_bins_${HOURS}h/vad.npy" ]; then
    cmp "$DUMPS/cm_erb32_${HOURS}h/vad.npy" "$DUMPS/cm_bins_${HOURS}h/vad.npy" \
        || { echo "the two dumps do not hold the same mixes" >&2; exit 1; }
fi

# 2. Training: same seed (same init order, same lane offsets and state resets), same steps, lr 2e-3
#    (the `tiny` recipe), one thread each, no validation (the last checkpoint is the model).
train() {
    local cell=${1%_*} layout=${1#*_} front=()
    local dir="$OUT/$1"
    if [ "$cell" = cnngru ]; then
        cell=gru
        front=(--conv-channels "$CONV" --conv-time "$CONV_TIME" --conv-freq "$CONV_FREQ")
    fi
    if [ -f "$dir/last.pt" ] && grep -q "saved .*last.pt (step $STEPS," "$dir/log.txt" 2>/dev/null; then
        return
    fi
    rm -rf "$dir"
    $NICE $PY training/train.py --data "$DUMPS/cm_${layout}_${HOURS}h" --out "$dir" --cell "$cell" \
        --dense "$DENSE" --hidden "$HIDDEN" --layers "$LAYERS" "${front[@]}" --batch 32 --seq 400 --steps "$STEPS" \
        --lr 2e-3 --seed 0 --threads 1 --log-every 100 --val-minutes 1e9 > "$dir.train.out" 2>&1
}
running=0
for r in $RUNS; do
    train "$r" &
    running=$((running + 1))
    if [ "$running" -ge "$PAR" ]; then wait -n; running=$((running - 1)); fi
done
wait

# 3. Export (model file + parity fixture from the dev dump, checked against torch and numpy).
MODELS=""
for r in $RUNS; do
    layout=${r#*_}
    if [ ! -f "$OUT/$r/export.txt" ] || [ "$OUT/$r/last.pt" -nt "$OUT/$r/export.txt" ]; then
        $PY training/export.py --ckpt "$OUT/$r/last.pt" --name "cm_$r" \
            --description "cell-and-mask study: $r, $STEPS steps on $HOURS h (training/experiments/cell_and_mask.sh)" \
            --out "$OUT/$r/model.safetensors" --parity-data "$DUMPS/cm_${layout}_dev" \
            --parity-out "$OUT/$r/parity.safetensors" --parity-frames 300 > "$OUT/$r/export.txt"
    fi
    MODELS="$MODELS${MODELS:+,}$OUT/$r/model.safetensors"
done

# 4. Dev-set scores through the CLI (`quell denoise --model FILE`), one report per model (so the table
#    can be filled one cell at a time), and one for the unprocessed input.
LIMIT_ARGS=()
[ "$LIMIT" != 0 ] && LIMIT_ARGS=(--limit "$LIMIT")
evaluate() {  # evaluate OUTFILE SYSTEMS [MODEL]
    $NICE $PY training/eval/evaluate.py --devset training/data/devset --quell "$QUELL" \
        --systems "$2" ${3:+--models "$3"} --workers 1 "${LIMIT_ARGS[@]}" --out "$1" > "$1.log" 2>&1
}
[ -f "$OUT/eval_noisy.json" ] || evaluate "$OUT/eval_noisy.md" noisy
for r in $RUNS; do
    if [ ! -f "$OUT/$r/eval.json" ] || [ "$OUT/$r/model.safetensors" -nt "$OUT/$r/eval.json" ]; then
        evaluate "$OUT/$r/eval.md" quell "$OUT/$r/model.safetensors"
    fi
done

# 5. Engine CPU per 10 ms (release build, one thread), all models of RUNS in one bench run.
if [ "$BENCH" = 1 ]; then
    abs=$(echo "$MODELS" | tr ',' '\n' | sed "s|^|$REPO/|" | paste -sd, -)
    (cd "${BENCH_DIR:-$REPO}" && QUELL_BENCH_MODELS="$abs" $NICE cargo bench --bench engine_cost) \
        | grep '^|' > "$OUT/bench.md.tmp"
    # keep the rows of models not benched this time
    touch "$OUT/bench.md"
    grep -v -F -f <(grep '^| cm_' "$OUT/bench.md.tmp" | cut -d'|' -f2) "$OUT/bench.md" | grep '^| cm_' \
        >> "$OUT/bench.md.tmp" || true
    mv "$OUT/bench.md.tmp" "$OUT/bench.md"
fi

# 6. The table (all four runs; cells not done yet show as missing).
$PY training/experiments/summarize.py --out "$OUT" --runs gru_erb32 lstm_erb32 gru_bins lstm_bins cnngru_erb32
