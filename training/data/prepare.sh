#!/usr/bin/env bash
# Rebuild Quell's training/dev audio from the Debian packages listed in shared/DATA.md.
# Idempotent: every step is skipped when its output is already there, so rerun it freely.
#   training/data/debs/      downloaded .deb files
#   training/data/extract/   their contents (dpkg -x; from 0ad-data only audio/* of public.zip)
#   training/data/speech/{train,dev}/  training/data/noise/{train,dev}/   48 kHz mono 16-bit WAV
#   training/data/lists/     speech_{train,dev}.txt, noise_{train,dev}.txt, *_meta.tsv, summary.txt
# Options: JOBS=N (parallel workers, default 2); KEEP_DEBS=1 keeps the 1.4 GB 0ad .deb after use.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TRAINING="$(dirname "$HERE")"
cd "$HERE"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES="tuxpaint-stamps-default fillets-ng-data-cs hedgewars-data 0ad-data bucklespring-data flite libflite1"

# 1. system tools ------------------------------------------------------------------------------
need_tools=0
for t in sox espeak-ng unzip; do command -v "$t" >/dev/null || need_tools=1; done
if [ "$need_tools" = 1 ]; then
    $SUDO apt-get update
    $SUDO apt-get install -y sox libsox-fmt-all espeak-ng unzip
fi

# 2. download the data packages (no root install) ---------------------------------------------
mkdir -p debs extract
missing=""
for p in $PACKAGES; do
    # the 0ad .deb may have been deleted after extraction; its marker stands in for it
    if [ "$p" = 0ad-data ] && [ -f extract/0ad/.done ]; then continue; fi
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

# 4. python environment -----------------------------------------------------------------------
PY="$TRAINING/.venv/bin/python"
if ! "$PY" -c "import numpy, scipy, soundfile, soxr" 2>/dev/null; then
    bash "$TRAINING/setup_venv.sh"
fi

# 5. convert, filter, synthesise, split, list --------------------------------------------------
nice -n 10 "$PY" "$HERE/prepare.py" --stage all --jobs "${JOBS:-2}"
