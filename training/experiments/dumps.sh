#!/usr/bin/env bash
# Makes the named dumps that are missing, and only those: the dumps that recipes/shipped_models.sh
# STEP=dumps (which calls this) and the experiments share are defined here, once (STEP=dumps makes
# every dump of its stage, about 30 GB).
# Usage: dumps.sh NAME...   (rev_hi rev_long rev_dev_v2 dev_v2 voices_v2 dev_v2s long_a long_b,
#                            long_<leg> e.g. long_a7, tiny_<N> e.g. tiny_1, tiny_3r, second_<N>[r])
set -euo pipefail
cd "$(dirname "$0")/../.."
D=training/data/dumps
L=training/data/lists
Q=target/release/quell
[ -x "$Q" ] || cargo build --release --bin quell
for out in "$@"; do
    [ -f "$D/$out/meta.json" ] && continue
    case $out in
        rev_hi) a=(--speech "$L/speech_train.txt" --noise "$L/noise_train.txt" --hours 1 --seed 63
                   --reverb-prob 0.8 --snr-min 5 --snr-max 40 --reverb-targets) ;;
        rev_long) a=(--speech "$L/speech_train.txt" --noise "$L/noise_train.txt" --hours 1 --seed 64
                     --reverb-prob 0.8 --snr-min 5 --snr-max 40 --reverb-targets --rt60-max 1.3) ;;
        rev_dev_v2) a=(--speech "$L/speech_dev.txt" --noise "$L/noise_dev.txt" --hours 0.25 --seed 62
                       --reverb-prob 0.7 --reverb-targets --features 2) ;;
        dev_v2) a=(--speech "$L/speech_dev.txt" --noise "$L/noise_dev.txt" --hours 0.4 --seed 3 --speed-perturb 0) ;;
        voices_v2) a=(--speech "$L/speech_train_v2.txt" --noise "$L/noise_train_v2.txt" --hours 6 --seed 81 --spectra) ;;
        dev_v2s) a=(--speech "$L/speech_dev.txt" --noise "$L/noise_dev.txt" --hours 0.4 --seed 3 --speed-perturb 0
                    --spectra) ;;
        # The long runs' 6 h dumps (formant shifting on half the speech): long_run.sh, tiny_long_run.sh.
        long_a|long_b) seed=131; [ "$out" = long_a ] || seed=132
                       a=(--speech "$L/speech_train_v2.txt" --noise "$L/noise_train_v2.txt" --hours 6
                          --seed "$seed" --spectra --formant-shift 0.5) ;;
        # A long_run.sh leg's fresh 6 h dump: seed 110 + the leg's seed (SEED, else long_run.sh's rule:
        # 22 + the letter + 10 per step of the number, so long_a7 is seed 192).
        long_[a-z][0-9]*) leg=${out#long_}; n=${leg:1}
                          seed=$(( 110 + ${SEED:-$(( 22 + $(printf '%d' "'$leg") - 97 + 10 * (n - 1) ))} ))
                          a=(--speech "$L/speech_train_v2.txt" --noise "$L/noise_train_v2.txt" --hours 6
                             --seed "$seed" --spectra --formant-shift 0.5) ;;
        # tiny_long_run.sh's fresh 6 h dump per leg (seed 300 + N); tiny_3r (tiny_room_leg.sh) adds
        # reverb targets, half its mixes in rooms up to 1.3 s.
        tiny_[0-9]*) n=${out#tiny_}; n=${n%r}
                     a=(--speech "$L/speech_train_v2.txt" --noise "$L/noise_train_v2.txt" --hours 6
                        --seed $(( 300 + n )) --spectra --formant-shift 0.5)
                     [ "$out" != tiny_3r ] || a+=(--reverb-targets --reverb-prob 0.5 --rt60-max 1.3) ;;
        # second_run.sh's fresh 6 h dump for its leg N >= 3 (seed 400 + N; leg 2 reads tiny_3r);
        # second_Nr (ROOM=1) the same with reverb targets, as tiny_3r.
        second_[0-9]*) n=${out#second_}; n=${n%r}
                       a=(--speech "$L/speech_train_v2.txt" --noise "$L/noise_train_v2.txt" --hours 6
                          --seed $(( 400 + n )) --spectra --formant-shift 0.5)
                       [ "${out%r}" = "$out" ] || a+=(--reverb-targets --reverb-prob 0.5 --rt60-max 1.3) ;;
        *) echo "dumps.sh: no recipe for $out" >&2; exit 2 ;;
    esac
    "$Q" dump-features --out "$D/$out" "${a[@]}" --threads 2 --quiet
done
