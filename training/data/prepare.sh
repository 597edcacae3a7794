#!/usr/bin/env bash
# Rebuild Quell's training/dev audio from the Debian packages listed in shared/DATA.md.
# Idempotent: every step is skipped when its output is already there, so rerun it freely.
#   training/data/debs/      downloaded .deb files
#   training/data/extract/   their contents (dpkg -x; from 0ad-data only audio/* of public.zip, from the
#                            newer packages only their audio paths)
#   training/data/speech/{train,dev}/  training/data/noise/{train,dev}/   48 kHz mono 16-bit WAV
#   training/data/lists/     speech_{train,dev}.txt, noise_{train,dev}.txt (frozen), their *_v2.txt
#                            supersets with the newer sources, *_meta*.tsv, summary.txt
# Options: JOBS=N (parallel workers, default 2); KEEP_DEBS=1 keeps the large .debs (0ad, and the new
# ones over 250 MB) after use.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TRAINING="$(dirname "$HERE")"
cd "$HERE"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES="tuxpaint-stamps-default fillets-ng-data-cs hedgewars-data 0ad-data bucklespring-data flite libflite1"
# the v2 sources (lists/*_v2.txt); only the paths below are unpacked from them
declare -A AUDIO_PATHS=(
    [fillets-ng-data-nl]='./usr/share/games/fillets-ng/sound/*/nl/*.ogg'
    [festvox-ru]='./usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav/*.wav'
    [asterisk-core-sounds-en-g722]='./usr/share/asterisk/sounds/*.g722'
    [asterisk-core-sounds-es-g722]='./usr/share/asterisk/sounds/*.g722'
    [asterisk-core-sounds-fr-g722]='./usr/share/asterisk/sounds/*.g722'
    [asterisk-core-sounds-it-g722]='./usr/share/asterisk/sounds/*.g722'
    [asterisk-core-sounds-ru-g722]='./usr/share/asterisk/sounds/*.g722'
    [flight-of-the-amazon-queen]='./usr/share/scummvm/flight-of-the-amazon-queen/queen.1c'
    [redeclipse-data]='./usr/share/games/redeclipse/data/sounds/ambience/*.ogg'
    [widelands-data]='./usr/share/games/widelands/data/sound/*.ogg'
    [supertuxkart-data]='./usr/share/games/supertuxkart/data/sfx/*.ogg ./usr/share/games/supertuxkart/data/tracks/*.ogg'
    [lincity-ng-data]='./usr/share/games/lincity-ng/sounds/*'
    [flightgear-data-base]='./usr/share/games/flightgear/Sounds/*.wav'
    [qabcs-data]='./usr/share/qabcs/abcs/all/noises/*'
)
NEW_PACKAGES="${!AUDIO_PATHS[*]} nexuiz-data"
BIG_DEB=250000000  # new .debs above this size are deleted once unpacked (KEEP_DEBS=1 keeps them)

# 1. system tools ------------------------------------------------------------------------------
need_tools=0
for t in sox espeak-ng unzip ffmpeg; do command -v "$t" >/dev/null || need_tools=1; done
if [ "$need_tools" = 1 ]; then
    $SUDO apt-get update
    $SUDO apt-get install -y sox libsox-fmt-all espeak-ng unzip ffmpeg
fi

# 2. download the data packages (no root install) ---------------------------------------------
mkdir -p debs extract
missing=""
for p in $PACKAGES $NEW_PACKAGES; do
    # large .debs are deleted after extraction; their markers stand in for them
    if [ "$p" = 0ad-data ] && [ -f extract/0ad/.done ]; then continue; fi
    if [ -f "extract/.$p.done" ]; then continue; fi
    ls debs/"${p}"_*.deb >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if ! (cd debs && apt-get download $missing); then
        $SUDO apt-get update
        (cd debs && apt-get download $missing)
    fi
fi

# 3. unpack -----------------------------------------------------------------------------------
for p in $PACKAGES; do
    [ "$p" = 0ad-data ] && continue
    if [ ! -f "extract/.$p.done" ]; then
        echo "unpacking $p"
        dpkg -x debs/"${p}"_*.deb extract/
        touch "extract/.$p.done"
    fi
done
if [ ! -f extract/0ad/.done ]; then
    # only public.zip from the 1.4 GB package, and only audio/* from that zip
    echo "unpacking 0ad-data audio (takes a few minutes)"
    mkdir -p extract/0ad
    ZIP=./usr/share/games/0ad/mods/public/public.zip
    dpkg-deb --fsys-tarfile debs/0ad-data_*.deb | tar -x -C extract/0ad "$ZIP"
    unzip -q -o "extract/0ad/$ZIP" 'audio/*' -d extract/0ad/
    rm -rf extract/0ad/usr
    touch extract/0ad/.done
    if [ "${KEEP_DEBS:-0}" != 1 ]; then rm -f debs/0ad-data_*.deb; fi
fi

drop_big_deb() {
    local deb
    deb=$(ls debs/"$1"_*.deb)
    if [ "${KEEP_DEBS:-0}" != 1 ] && [ "$(stat -c %s "$deb")" -gt "$BIG_DEB" ]; then rm -f "$deb"; fi
}
for p in "${!AUDIO_PATHS[@]}"; do
    if [ ! -f "extract/.$p.done" ]; then
        echo "unpacking $p (audio only)"
        # shellcheck disable=SC2086  # the value is a list of patterns
        dpkg-deb --fsys-tarfile debs/"${p}"_*.deb | tar -x -C extract/ --wildcards ${AUDIO_PATHS[$p]}
        touch "extract/.$p.done"
        drop_big_deb "$p"
    fi
done
if [ ! -f extract/.nexuiz-data.done ]; then
    # only the tutorial narration from the 270 MB data.pk3 (a zip)
    echo "unpacking nexuiz-data tutorial narration"
    mkdir -p extract/nexuiz
    PK3=./usr/share/games/nexuiz/data/data.pk3
    dpkg-deb --fsys-tarfile debs/nexuiz-data_*.deb | tar -x -C extract/nexuiz "$PK3"
    unzip -q -o "extract/nexuiz/$PK3" 'sound/tutorial/*' -d extract/nexuiz/
    rm -rf extract/nexuiz/usr
    touch extract/.nexuiz-data.done
    drop_big_deb nexuiz-data
fi

# 4. python environment -----------------------------------------------------------------------
PY="$TRAINING/.venv/bin/python"
if ! "$PY" -c "import numpy, scipy, soundfile, soxr" 2>/dev/null; then
    bash "$TRAINING/setup_venv.sh"
fi

# 5. convert, filter, synthesise, split, list --------------------------------------------------
nice -n 10 "$PY" "$HERE/prepare.py" --stage all --jobs "${JOBS:-2}"
