#!/usr/bin/env bash
# Issue 11, hq: a second long run, trained apart from the first (long_run.sh, whose leg a6 is `standard`
# and hq's member), to become hq's own network in place of the soup. Pairs gain most when both networks
# are good and trained apart (training/README.md, "Two networks in one file", "A seventh cycle"); training
# the soup for the pair instead gave nothing ("Training hq's own network for the pair"). Same layout and
# losses as the first run (C=4 front end, dense 128, GRU 2x128, speech weight 5, output-spectrum loss),
# another seed, and only mixes leg a6 never read:
#   LEG=1: from scratch, 9000 steps at lr 1e-3 (seed 1021) on `tiny_1` + `tiny_2` (12 h);
#   LEG=N>1: a warm restart from leg N-1 at lr 5e-4, 6000 steps (seed 1020 + N), on a fresh 6 h dump
#   `second_N` (seed 400 + N, formant shifting on half the speech) beside `tiny_1`, `tiny_2`, `long_a7`
#   (LEG=2 reads `tiny_3r` in place of a fresh dump).
# About 0.6 s a step on this machine's two cores (90 min for leg 1, an hour a leg after). A leg cut short
# continues where it stopped: rerun the same command and `--resume` picks up its last.pt (saved at every
# validation, every 10 min). At a leg's end its network (float32, no heads) is written to
# training/checkpoints/second_LEG.safetensors, to be committed: training/runs/ is not in git and a new
# machine starts without it, so the next leg starts from that file when last.pt is gone (a warm
# restart reads the weights only, so nothing is lost). Then its heads are fitted (standard_heads.sh)
# into training/runs/second_LEG/standard.safetensors, to score it; for a leg done on another machine,
# HEADS=1 fits them on its committed file.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=training/data/dumps
Q=target/release/quell
PY=training/.venv/bin/python
LEG=${LEG:-1}
R=training/runs/second_$LEG
C=training/checkpoints/second_$LEG.safetensors
[ -x "$Q" ] || cargo build --release --bin quell
if [ -f "$C" ] && [ ! -f "$R/last.pt" ]; then
    # Done on another machine: HEADS=1 fits its heads on the committed network (the recipe's last leg).
    [ "${HEADS:-0}" = 1 ] && exec bash training/experiments/standard_heads.sh "$R" "$C"
    echo "leg $LEG is done ($C; its run folder is not on this machine, HEADS=1 fits its heads)"; exit 0
fi
if [ "$LEG" = 1 ]; then
    bash training/experiments/dumps.sh dev_v2s tiny_1 tiny_2
    DATA=("$D/tiny_1" "$D/tiny_2")
    TRAIN=(--steps "${STEPS:-9000}" --lr 1e-3)
else
    P=training/runs/second_$(( LEG - 1 ))/last.pt
    [ -f "$P" ] || P=training/checkpoints/second_$(( LEG - 1 )).safetensors
    [ -f "$P" ] || LEG=$(( LEG - 1 )) bash "$0"
    FRESH=second_$LEG
    [ "$LEG" = 2 ] && FRESH=tiny_3r
    # ROOM=1: the reverb term trained jointly on a fresh dump with reverb targets (as tiny_room_leg.sh),
    # so that the states tell a room's tail from noise and the member head keeps a room cheaply.
    [ "${ROOM:-0}" = 1 ] && FRESH=second_${LEG}r
    bash training/experiments/dumps.sh dev_v2s tiny_1 tiny_2 long_a7 "$FRESH"
    DATA=("$D/$FRESH" "$D/tiny_1" "$D/tiny_2" "$D/long_a7")
    TRAIN=(--steps "${STEPS:-6000}" --lr 5e-4 --init "$P")
    [ "${ROOM:-0}" = 1 ] && TRAIN+=(--reverb-weight 1 --reverb-over-suppress 6)
fi
if [ ! -f "$R/standard.safetensors" ]; then
    nice -n 8 $PY training/train.py --data "${DATA[@]}" --val "$D/dev_v2s" --out "$R" "${TRAIN[@]}" \
        --conv-channels 4 --dense 128 --hidden 128 --layers 2 --batch 32 --seq 400 --warmup 200 \
        --seed $(( 1020 + LEG )) --dropout 0.1 --over-suppress 0.0 --speech-weight 5 --spec-weight 1 \
        --threads 2 --val-minutes 10 --keep --resume
fi
if [ ! -f "$C" ]; then
    mkdir -p training/checkpoints
    $PY training/export.py --ckpt "$R/last.pt" --name second_$LEG --out "$C.tmp" \
        --description "hq's second long run, leg $LEG: the network alone (float32, no heads), to start leg $(( LEG + 1 )) from."
    mv "$C.tmp" "$C"
fi
bash training/experiments/standard_heads.sh "$R"
