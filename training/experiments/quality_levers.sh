#!/usr/bin/env bash
# The quality issue's lever ablation: fine-tunes of the shipped standard model on the same data, the
# same step budget and the same seed, with one lever on or off at a time. Each run is resumable
# (train.py --resume) and skipped when its last.pt already holds the full budget.
#   ARMS="base speech spec both teacher_oracle teacher blend tiny_speech hq_speech"  STEPS=800
# Needs: release quell, training/data/dumps/{train_w,dev_v2} (and teach_* for the teacher arms), see
# training/README.md "Quality levers". Evaluate with training/experiments/eval_levers.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=training/.venv/bin/python
D=training/data/dumps
STEPS=${STEPS:-800}
# Where the models to fine-tune come from: models/ held the shipped models of 5b548be when the ablation
# ran; the recipe (training/recipes/shipped_models.sh) points BASE at its own re-exports of them.
BASE=${BASE:-models}
ARMS=${ARMS:-base speech spec both}
fit() { # name model data-dir[,data-dir...] val-dir dense hidden layers [train.py options]: fine-tune a shipped model
    local name=$1 model=$2 data=$3 val=$4 dense=$5 hidden=$6 layers=$7; shift 7
    local dirs=(); for x in ${data//,/ }; do dirs+=("$D/$x"); done
    nice -n 8 $PY training/train.py --data "${dirs[@]}" --val "$D/$val" --out "training/runs/lever_$name" \
        --init "$BASE/$model.safetensors" --dense "$dense" --hidden "$hidden" --layers "$layers" \
        --batch 32 --seq 400 --steps "$STEPS" --lr 3e-4 --warmup 50 --seed 6 --dropout 0.1 \
        --over-suppress 0.0 --keep --val-minutes 4 --resume "$@"
}
run() { fit "$1" standard "$2" dev_v2 128 128 2 "${@:3}"; }
for arm in $ARMS; do
    case $arm in
        base)           run base train_w ;;
        speech)         run speech train_w --speech-weight 5 ;;
        spec)           run spec train_w --spec-weight 1 ;;
        both)           run both train_w --speech-weight 5 --spec-weight 1 ;;
        teacher_oracle) run teacher_oracle teach_oracle ;;
        teacher)        run teacher teach_teacher ;;
        blend)          run blend teach_blend ;;
        # The speech-weighted loss on the other two shipped models (tiny reads feature version 1).
        tiny_speech)    fit tiny_speech tiny train_w1 dev_v1 64 64 1 --speech-weight 5 ;;
        hq_speech)      fit hq_speech hq train_w dev_v2 256 256 2 --speech-weight 5 ;;
        # More voices (issue 11): the shipped standard, 800 more steps of its own recipe on 6 h mixed
        # from the v2 lists (training/data/README.md: +5 sources, ~3x the speech, ~100 more voices)
        # against the same on 6 h from the original lists (same seed, so the same SNRs and rooms).
        voices)         run voices voices_v2 --speech-weight 5 --spec-weight 1 ;;
        voices_ctl)     run voices_ctl voices_v1 --speech-weight 5 --spec-weight 1 ;;
        # The same for the other two shipped models (tiny reads feature version 1: voices_v2_1 is the
        # v2 lists' mixes dumped with --features 1).
        # Fresh mixes or the same ones again (the learning-curve question): 800 more steps from the
        # shipped standard on a new 6 h dump of the v2 lists (seed 82) against the same 6 h it had.
        again)          run again voices_v2 --speech-weight 5 --spec-weight 1 ;;
        fresh)          run fresh voices_v2b --speech-weight 5 --spec-weight 1 ;;
        # Formant shifting (new vocal tracts, pitch and tempo kept) on half the speech clips, against the
        # same recipe without it: 800 steps from the soup standard on 3 h each (seed 91).
        formants)       run formants formants_v2 --speech-weight 5 --spec-weight 1 ;;
        formants_ctl)   run formants_ctl formants_ctl_v2 --speech-weight 5 --spec-weight 1 ;;
        # Teacher blend with the full recipe (issue 11 §2): 1.5 h from the v2 lists (seed 95) with oracle
        # targets, and the same mixes with targets half oracle, half DeepFilterNet3; STEPS=400.
        t2_oracle)      run t2_oracle teach2_oracle --speech-weight 5 --spec-weight 1 ;;
        t2_blend)       run t2_blend teach2_blend --speech-weight 5 --spec-weight 1 ;;
        # ... and the teacher's targets alone, only in frames without speech (--teacher-where pauses).
        t2_pauses)      run t2_pauses teach2_pauses --speech-weight 5 --spec-weight 1 ;;
        hq_voices)      fit hq_voices hq voices_v2 dev_v2 256 256 2 --speech-weight 5 --spec-weight 1 ;;
        tiny_voices)    fit tiny_voices tiny voices_v2_1 dev_v1 64 64 1 --speech-weight 5 ;;
        # tiny trains ten times faster than standard: the same with STEPS=4000.
        tiny_voices_long) fit tiny_voices_long tiny voices_v2_1 dev_v1 64 64 1 --speech-weight 5 ;;
        # Issue 13's reverb head trained jointly with the dry head (NOT shipped: the kept decay came out
        # shorter, T20 0.68 s of a 1.0 s room, than a head fitted on the frozen trunk by
        # training/reverb_head.py, 0.86 s; see docs/reverb.md)
        # (rev_w / rev_w1: half the mixes in synthetic rooms, with --reverb-targets; rev_whi /
        # rev_whi1: 80 % in rooms at 5-40 dB SNR, so clean tails are common enough to learn to keep).
        reverb)         run reverb rev_w,rev_whi --speech-weight 5 --spec-weight 1 --reverb-weight 1 ;;
        tiny_reverb)    fit tiny_reverb tiny rev_w1,rev_whi1 dev_v1 64 64 1 --speech-weight 5 --reverb-weight 1 ;;
        hq_reverb)      fit hq_reverb hq rev_w,rev_whi dev_v2 256 256 2 --speech-weight 5 --reverb-weight 1 ;;
        # Bin refinement (issue 11 §5): from the soup standard, 800 steps on voices_v2 with the new
        # refinement head on bins 0-39 (below 4 kHz) trained jointly through the spectrum loss (which
        # also charges removed speech, --spec-over-suppress 0.3), against the same without the head;
        # refine_headjoint starts from the soup with a head already fitted on the frozen trunk by
        # training/refine_head.py (REFINED holds that model, as standard.safetensors).
        refine_ctl)     run refine_ctl voices_v2 --speech-weight 5 --spec-weight 1 ;;
        refine_bjoint)  run refine_bjoint voices_v2 --speech-weight 5 --spec-weight 1 --refine-bins 40 \
                            --spec-over-suppress 0.3 ;;
        refine_headjoint) BASE=${REFINED:-training/runs/refine_head} run refine_headjoint voices_v2 \
                            --speech-weight 5 --spec-weight 1 --spec-over-suppress 0.3 ;;
        # A causal convolutional front end (issue 11 §5): 4 kernels of 3 frames x 3 features grown onto
        # the shipped standard (their dense-layer columns start at zero), against the same without.
        conv_ctl)       run conv_ctl voices_v2 --speech-weight 5 --spec-weight 1 ;;
        conv)           run conv voices_v2 --speech-weight 5 --spec-weight 1 --conv-channels "${CONV:-4}" ;;
        # The same on the shipped tiny (STEPS=4000: tiny trains ten times faster).
        tiny_conv_ctl)  fit tiny_conv_ctl tiny voices_v2_1 dev_v1 64 64 1 --speech-weight 5 ;;
        tiny_conv)      fit tiny_conv tiny voices_v2_1 dev_v1 64 64 1 --speech-weight 5 --conv-channels "${CONV:-4}" ;;
        *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
done
