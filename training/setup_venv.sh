#!/usr/bin/env bash
# Create (if missing) and populate the training virtualenv at training/.venv.
# Idempotent: a rerun only installs what is missing or differs from requirements.txt.
# pesq compiles a C extension, so gcc and the Python headers must be present.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"

inc="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
if { [ ! -f "$inc/Python.h" ] || ! command -v gcc >/dev/null; } && command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update
    $SUDO apt-get install -y gcc python3-dev python3-venv
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating venv at $VENV"
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -r "$HERE/requirements.txt"
"$VENV/bin/python" - <<'PY'
import torch, numpy, scipy, soundfile, soxr, safetensors, pesq, pystoi, pyrnnoise, pedalboard, pytest
print("venv ok: torch", torch.__version__, "numpy", numpy.__version__)
PY
