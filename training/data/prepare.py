#!/usr/bin/env python3
"""Build Quell's training/dev audio from the Debian packages named in shared/DATA.md.

Run through prepare.sh, which downloads and unpacks the packages first. This script:
  * decodes, downmixes and resamples every clip to 48 kHz mono 16-bit WAV,
  * filters real speech by level and noise floor, trims leading/trailing silence,
  * synthesises some speech with espeak-ng and flite,
  * builds noise files (0ad ambience/effects/music excerpts, keyboard typing from bucklespring clicks),
  * splits train/dev by speaker and by noise file (deterministic, no randomness in the split),
  * writes lists/{speech,noise}_{train,dev}.txt, lists/*_meta.tsv and lists/summary.txt,
  * and the v2 lists lists/{speech,noise}_{train,dev}_v2.txt: the v1 lists (frozen: older feature
    dumps and the dev sets depend on them) plus the sources marked new in shared/DATA.md.

Idempotent: every output is written atomically and skipped when present. Every random choice
is seeded from the global seed and the item's name, so reruns (and parallel runs) give the same data.
Delete training/data/{speech,noise,lists} to rebuild after changing a parameter.

Usage: prepare.py [--stage all|speech|synth|noise|lists|analyze] [--jobs N]
"""

import argparse
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy.signal import butter, ellip, sosfiltfilt

SEED = 20240611
SR = 48000
ROOT = Path(__file__).resolve().parent
EXTRACT = ROOT / "extract"
SPEECH = ROOT / "speech"
NOISE = ROOT / "noise"
LISTS = ROOT / "lists"
CACHE = ROOT / "cache"
DRY = False  # --stage analyze: measure and report only, write nothing

TUX_DIR = EXTRACT / "usr/share/tuxpaint/stamps"
FILLETS_DIR = EXTRACT / "usr/share/games/fillets-ng/sound"
HEDGE_DIR = EXTRACT / "usr/share/games/hedgewars/Data/Sounds/voices"
OAD_DIR = EXTRACT / "0ad/audio"
BUCKLE_DIR = EXTRACT / "usr/share/buckle/wav"
FLITE_BIN = EXTRACT / "usr/bin/flite"
FLITE_LIB = EXTRACT / "usr/lib/x86_64-linux-gnu"
# v2 speech
FESTVOX_RU_DIR = EXTRACT / "usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav"
ASTERISK_DIR = EXTRACT / "usr/share/asterisk/sounds"
QUEEN_FILE = EXTRACT / "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
OAD_VOICE_DIR = OAD_DIR / "voice"
NEXUIZ_DIR = EXTRACT / "nexuiz/sound/tutorial"
# v2 noise: name -> (folder, globs); flightgear's Sounds/mk-viii and Sounds/tcas are spoken callouts
STK_DIR = EXTRACT / "usr/share/games/supertuxkart/data"
NEW_NOISE_SOURCES = {
    "redeclipse": (EXTRACT / "usr/share/games/redeclipse/data/sounds/ambience", ["**/*.ogg"]),
    "widelands": (EXTRACT / "usr/share/games/widelands/data/sound", ["**/*.ogg"]),
    "supertuxkart": (STK_DIR, ["sfx/*.ogg", "tracks/*/*.ogg"]),
    "lincity": (EXTRACT / "usr/share/games/lincity-ng/sounds", ["*.wav"]),
    "flightgear": (EXTRACT / "usr/share/games/flightgear/Sounds", ["*.wav"]),
    "qabcs": (EXTRACT / "usr/share/qabcs/abcs/all/noises", ["*.ogg"]),
}
# speech, voices and music inside those packages (qabcs: the people and cartoon characters)
NEW_NOISE_EXCLUDE = {
    "supertuxkart": {"sfx/sara_airport_pa.ogg", "tracks/introcutscene2/nolok_speech.ogg",
                     "tracks/introcutscene2/intro2.ogg", "sfx/WilhelmScream.ogg", "sfx/ugh.ogg", "sfx/wee.ogg",
                     "tracks/ancient_colosseum_labyrinth/Battle_Theme_1.ogg", "tracks/cave/beneath_the_rabbit_hole.ogg",
                     "tracks/battleisland/Gran_Paradiso_Unused_-_TuxKart_5a_Gowns_Bow_Remix.ogg"},
    "qabcs": {n + ".ogg" for n in (
        "adjutant", "cheburashka", "chef", "clown", "dogmatix", "doll", "dunno", "emelya", "firebird",
        "gamekeeper", "ivasyk", "joker", "ode", "ole_lukoje", "pishik", "prince", "pupil", "quiz_game",
        "robot", "sailorboy", "schooler", "umka", "ursula", "walkie-talkie", "x-men", "yaga", "yeti")},
}

# ---------------------------------------------------------------- split policy (by speaker / file)
TUX_DEV_LANGS = {"da", "ca"}            # da: full-band; ca: band-limited (11-16 kHz)
FILLETS_DEV_SPEAKERS = {"c", "pap", "hs"}  # minor voices (token after the level prefix)
HEDGE_DEV_PACKS = {"Pirate", "Surfer"}
ESPEAK_DEV_VARIANTS = {"Andrea", "m6"}
FLITE_DEV_VOICES = {"rms"}
NOISE_DEV_FRACTION = 0.15               # per 0ad category (hash-ranked), and per music/keyboard pool
# v2 sources (the v1 split above is unchanged); one-speaker sources (festvox-ru, nexuiz) are train
FILLETS_NL_DEV_LEVELS = {"key", "briefcase"}  # nl minor roles, one voice per level (2.3 + 2.0 min)
ASTERISK_DEV_VOICES = {"Carlo"}         # it_IT male; en_US and es_MX are both Allison, so both train
QUEEN_DEV_FRACTION = 0.12               # of the non-Joe dialogue by duration, whole talk files (persons)
OAD_VOICE_DEV_CIVS = {"latin"}          # 0ad unit voices: one civilisation (its female and male voice)
# v2 noise: NOISE_DEV_FRACTION of each package's duration, by file

# ---------------------------------------------------------------- speech quality filter
FRAME = 960                  # 20 ms at 48 kHz
MIN_DYN_RANGE_DB = 28.0      # p95 frame energy - quietest 60 ms
MIN_ACTIVE_DBFS = -40.0      # p95 frame energy after peak normalisation (nearly silent clip)
MIN_SPEECH_S = 0.4           # after trimming
TRIM_PAD_S = 0.10
PEAK_DBFS = -1.0

ASTERISK_PASS_HZ = 3700     # G.722's 4-8 kHz band is codec noise ~17 dB under the speech: cut it
ASTERISK_BAND_HZ = 4000

# ---------------------------------------------------------------- noise amounts
MUSIC_EXCERPT_S = 20.0       # one excerpt per music track
EFFECT_BED_S = 30.0          # short 0ad effects are concatenated into beds of about this length
KEYBOARD_FILE_S = 30.0
KEYBOARD_TRAIN_FILES = 12
KEYBOARD_DEV_FILES = 3
NEW_NOISE_WHOLE_S = 5.0      # v2 noise files this long are kept whole (loops); shorter ones go into beds

# ---------------------------------------------------------------- synthetic speech amounts (seconds)
ESPEAK_TARGET_S = 24 * 60
FLITE_TARGET_S = 12 * 60


def rng_for(*keys):
    h = hashlib.sha256(("%d|" % SEED + "|".join(map(str, keys))).encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def hash01(*keys):
    """Deterministic pseudo-uniform number in [0,1) for a name (used for split ranking)."""
    h = hashlib.sha256(("%d|" % SEED + "|".join(map(str, keys))).encode()).digest()
    return int.from_bytes(h[:8], "little") / 2.0**64


# ---------------------------------------------------------------- audio helpers
def load_48k_mono(path, return_rate=False):
    """Decode, downmix and resample (soxr, very high quality) to 48 kHz."""
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = soxr.resample(x, sr, SR, quality="VHQ")
    return (x, sr) if return_rate else x


_LPF4K = ellip(10, 0.1, 80, ASTERISK_PASS_HZ, btype="lowpass", fs=SR, output="sos")


def lowpass_4k(x):
    """Zero-phase elliptic low-pass: -68 dB at 4 kHz, so the 65 dB bandwidth rule stops near 4 kHz."""
    return sosfiltfilt(_LPF4K, x) if len(x) > 256 else x


def ffmpeg_48k(blob, fmt):
    """Decode bytes of a raw format soundfile cannot read (g722, mp3) with ffmpeg, then as a file."""
    with tempfile.TemporaryDirectory() as td:
        wav = os.path.join(td, "d.wav")
        res = subprocess.run(["ffmpeg", "-v", "error", "-f", fmt, "-i", "pipe:0", "-c:a", "pcm_f32le", wav],
                             input=blob, capture_output=True)
        if res.returncode != 0 or not os.path.exists(wav):
            raise RuntimeError(res.stderr.decode(errors="ignore")[:100])
        return load_48k_mono(wav, return_rate=True)


def decode_48k(src):
    """(48 kHz mono, source bandwidth in Hz) of a file, a .g722 prompt or a 'queen.1c@offset+size' entry."""
    if src.startswith(f"{QUEEN_FILE}@"):
        path, span = src.rsplit("@", 1)
        off, size = map(int, span.split("+"))
        with open(path, "rb") as f:
            f.seek(off)
            blob = f.read(size)
        m = re.search(rb"\xff[\xe0-\xff]", blob)  # first MPEG frame sync
        x, sr = ffmpeg_48k(blob[m.start():] if m else b"", "mp3")
        return x, sr / 2
    if src.endswith(".g722"):
        x, _ = ffmpeg_48k(Path(src).read_bytes(), "g722")
        return lowpass_4k(x), ASTERISK_BAND_HZ
    x, sr = load_48k_mono(src, return_rate=True)
    return x, sr / 2


def write_wav(path, x):
    """Atomic 16-bit write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, np.clip(x, -1.0, 1.0).astype(np.float32), SR, subtype="PCM_16")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_HPF = butter(4, 70.0, btype="highpass", fs=SR, output="sos")


def highpass(x):
    """Zero-phase 70 Hz high-pass: removes rumble and the mains fundamental from real recordings."""
    return sosfiltfilt(_HPF, x) if len(x) > 64 else x


def peak_normalise(x, dbfs=PEAK_DBFS):
    p = np.max(np.abs(x)) if len(x) else 0.0
    if p <= 1e-9:
        return x
    return x * (10 ** (dbfs / 20) / p)


def frame_db(x, frame=FRAME):
    n = len(x) // frame
    if n == 0:
        return np.array([-120.0])
    e = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    return 10 * np.log10(e + 1e-12)


def bandwidth_hz(x):
    """Highest frequency whose long-term level (loud frames) is within 65 dB of the 300-3k peak.

    Lossy codecs cut hard at the clip's bandwidth (the level falls to -80..-120 dB), while dark but
    full-band voices stay above about -60 dB up to 20 kHz, so -65 dB separates the two."""
    n = 2048
    if len(x) < n:
        return 0.0
    hop = n // 2
    nf = (len(x) - n) // hop + 1
    idx = np.arange(n)[None, :] + hop * np.arange(nf)[:, None]
    fr = x[idx] * np.hanning(n)[None, :]
    en = np.mean(fr**2, axis=1)
    keep = en >= np.percentile(en, 50)
    spec = np.mean(np.abs(np.fft.rfft(fr[keep], axis=1)) ** 2, axis=0)
    sdb = 10 * np.log10(spec + 1e-20)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    ref = np.max(sdb[(freqs >= 300) & (freqs <= 3000)])
    # smooth over ~500 Hz and find the last bin above ref-50
    k = 21
    sm = np.convolve(sdb, np.ones(k) / k, mode="same")
    above = np.where((sm > ref - 65) & (freqs > 1000))[0]
    return float(freqs[above[-1]]) if len(above) else 0.0


def hum_db(x):
    """Level of 50/60 Hz + harmonics relative to the neighbouring noise, in the quietest frames."""
    n = 9600  # 200 ms, 5 Hz resolution
    if len(x) < n:
        return 0.0
    nf = len(x) // n
    fr = x[: nf * n].reshape(nf, n)
    en = np.mean(fr**2, axis=1)
    q = fr[en <= np.percentile(en, 30)] * np.hanning(n)[None, :]
    spec = np.mean(np.abs(np.fft.rfft(q, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    best = 0.0
    for f0 in (50.0, 60.0):
        tot_h, tot_n = 0.0, 0.0
        for h in range(1, 6):
            i = int(round(f0 * h / 5.0))
            tot_h += spec[i - 1 : i + 2].sum()
            tot_n += 0.5 * (spec[i - 6 : i - 3].sum() + spec[i + 4 : i + 7].sum())
        best = max(best, 10 * np.log10((tot_h + 1e-20) / (tot_n + 1e-20)))
    return float(best)


def speech_stats(x):
    """Speech level (95th percentile of 20 ms frame energy) and noise floor (quietest 60 ms)."""
    d = frame_db(x)
    m3 = np.convolve(d, np.ones(3) / 3, mode="valid") if len(d) >= 3 else d
    p95, floor = np.percentile(d, 95), np.min(m3)
    return {"level": float(p95), "floor": float(floor), "dr": float(p95 - floor)}


def trim(x, pad_s=TRIM_PAD_S):
    d = frame_db(x)
    p90 = np.percentile(d, 90)
    thr = max(p90 - 35.0, np.percentile(d, 10) + 6.0)
    act = np.where(d > thr)[0]
    if len(act) == 0:
        return x
    pad = int(pad_s * SR)
    a = max(0, act[0] * FRAME - pad)
    b = min(len(x), (act[-1] + 1) * FRAME + pad)
    y = x[a:b].copy()
    # 5 ms fades so the cut is click-free
    f = min(240, len(y) // 2)
    if f > 0:
        ramp = np.linspace(0, 1, f)
        y[:f] *= ramp
        y[-f:] *= ramp[::-1]
    return y


# ---------------------------------------------------------------- real speech
def real_speech_items():
    """(source, speaker, split, src_path, out_rel) for every candidate real speech clip."""
    items = []
    for p in sorted(TUX_DIR.rglob("*_desc_*.ogg")):
        if p.is_symlink() or not p.is_file():
            continue
        m = re.match(r"(.+)_desc_([a-z]+)\.ogg(\.ogg)?$", p.name)
        if not m:
            continue
        stem, lang = m.group(1), m.group(2)
        rel_dir = p.parent.relative_to(TUX_DIR).as_posix().replace("/", "_")
        split = "dev" if lang in TUX_DEV_LANGS else "train"
        items.append(("tuxpaint", lang, split, str(p), f"tuxpaint/{lang}/{rel_dir}__{stem}.wav"))
    for p in sorted(FILLETS_DIR.glob("*/cs/*.ogg")):
        level = p.parent.parent.name
        # names are <level>-<speaker>-<word>; a few levels use <word>-<speaker> or <speaker>-<word>
        parts = p.stem.split("-")
        if len(parts) >= 3:
            tok = parts[1]
        elif len(parts) == 2 and parts[1] in ("m", "v"):
            tok = parts[1]
        elif len(parts) == 2 and parts[0] in ("m", "v"):
            tok = parts[0]
        else:
            tok = "misc"
        spk = tok if tok in ("m", "v") or tok in FILLETS_DEV_SPEAKERS else f"{level}/{tok}"
        split = "dev" if tok in FILLETS_DEV_SPEAKERS else "train"
        items.append(("fillets", spk, split, str(p), f"fillets/{spk}/{level}__{p.stem}.wav"))
    for p in sorted(HEDGE_DIR.glob("*/*.ogg")):
        pack = p.parent.name
        split = "dev" if pack in HEDGE_DEV_PACKS else "train"
        items.append(("hedgewars", pack, split, str(p), f"hedgewars/{pack}/{p.stem}.wav"))
    return items


def fillets_main_voice(stem):
    """'m' or 'v' (the two fish) from <level>-<v>-<word>, <v>-<word>, <word>-<v>, bar_v_word; else None."""
    parts = re.split(r"[-_]", stem)
    if len(parts) >= 3 and parts[1] in ("m", "v"):
        return parts[1]
    if len(parts) == 2:
        for tok in parts[::-1]:
            if tok in ("m", "v"):
                return tok
    return None


def queen_entries():
    """(name, offset, size) of every entry in queen.1c's table: 'QTBL', a big-endian u16 count at
    byte 13, then 21-byte entries (12-byte NUL-padded name, 1 byte, u32 offset, u32 size)."""
    with open(QUEEN_FILE, "rb") as f:
        head = f.read(15)
        if head[:4] != b"QTBL":
            sys.exit(f"{QUEEN_FILE}: not a QTBL archive")
        n = struct.unpack(">H", head[13:15])[0]
        table = f.read(21 * n)
    out = []
    for i in range(n):
        e = table[21 * i : 21 * i + 21]
        name = e[:12].split(b"\0")[0].decode("latin-1").upper()
        off, size = struct.unpack(">II", e[13:21])
        out.append((name, off, size))
    return out


def queen_speaker(name, cutaways):
    """Speaker of a *.SB entry (MP3), or None when it is not speech. Dialogue lines are
    <talk file:2><line:4><J|P><segment> (ScummVM's talk.cpp): J is Joe, P the person of that talk
    file; JOE* are Joe's remarks; lines named after a .CUT file are cutaways, which mix speakers.
    The rest are sound effects ('1000SSSS', '116BSSSS': ScummVM's Sound::_sfxName) or unknown."""
    stem = name[:-3]
    m = re.match(r"(\d\d)[0-9A-FSX]{4}([JP])[0-9A-F]$", stem)
    if m:
        return "joe" if m.group(2) == "J" else "p" + m.group(1)
    if stem.startswith("JOE"):
        return "joe"
    return "cutaway" if any(stem.startswith(c) for c in cutaways) else None


def real_speech_items_v2():
    """Like real_speech_items(), for the sources new in shared/DATA.md (lists/*_v2.txt)."""
    items = []
    for p in sorted(FILLETS_DIR.rglob("nl/*.ogg")):
        level = p.parent.parent.relative_to(FILLETS_DIR).as_posix()
        spk = fillets_main_voice(p.stem) or level  # the nl dub's minor roles: one voice per level
        split = "dev" if spk in FILLETS_NL_DEV_LEVELS else "train"
        items.append(("fillets_nl", spk, split, str(p),
                      f"fillets_nl/{spk}/{level.replace('/', '_')}__{p.stem}.wav"))
    for p in sorted(FESTVOX_RU_DIR.glob("ru_*.wav")):
        items.append(("festvox_ru", "msu_ru_nsh", "train", str(p), f"festvox_ru/{p.stem}.wav"))
    for vdir in sorted(ASTERISK_DIR.glob("*_*_*_*")):
        spk = vdir.name.split("_", 3)[3]  # en_US_f_Allison -> Allison (also es_MX's voice)
        split = "dev" if spk in ASTERISK_DEV_VOICES else "train"
        for p in sorted(vdir.rglob("*.g722")):
            rel = p.relative_to(vdir).with_suffix("").as_posix()
            if rel.startswith("silence/"):
                continue
            items.append(("asterisk", spk, split, str(p), f"asterisk/{vdir.name}/{rel.replace('/', '__')}.wav"))
    entries = queen_entries()
    cutaways = {n[:-4] for n, _, _ in entries if n.endswith(".CUT")}
    sb = [(n, off, size, queen_speaker(n, cutaways)) for n, off, size in entries if n.endswith(".SB")]
    sb = [e for e in sb if e[3]]
    persons = defaultdict(float)  # seconds (16 kbit/s CBR)
    for n, off, size, spk in sb:
        if spk.startswith("p"):
            persons[spk] += size * 8 / 16000
    qdev = pick_by_duration(persons, QUEEN_DEV_FRACTION, "queen")
    for n, off, size, spk in sb:
        split = "dev" if spk in qdev else "train"
        items.append(("amazon_queen", spk, split, f"{QUEEN_FILE}@{off}+{size}",
                      f"amazon_queen/{spk}/{n[:-3]}.wav"))
    for p in sorted(OAD_VOICE_DIR.glob("*/civ/civ_*.ogg")):
        civ = p.parts[-3]
        spk = f"{civ}_{p.name.split('_')[1]}"  # civ_female_attack_1.ogg -> latin_female
        split = "dev" if civ in OAD_VOICE_DEV_CIVS else "train"
        items.append(("0ad_voice", spk, split, str(p), f"0ad_voice/{spk}/{p.stem}.wav"))
    for p in sorted(NEXUIZ_DIR.glob("*.ogg")):
        items.append(("nexuiz", "narrator", "train", str(p), f"nexuiz/{p.stem}.wav"))
    return items


def process_real(item):
    source, spk, split, src, rel = item
    out = SPEECH / split / rel
    rec = {"source": source, "speaker": spk, "split": split, "src": src, "path": str(out)}
    try:
        x, band = decode_48k(src)
    except Exception as e:  # unreadable file
        rec.update(keep=False, reason=f"read error {e}")
        return rec
    x = peak_normalise(highpass(x - np.mean(x)))
    st = speech_stats(x)
    rec.update({k: round(v, 2) for k, v in st.items()})
    rec["hum_db"] = round(hum_db(x), 1)
    if st["level"] < MIN_ACTIVE_DBFS:
        rec.update(keep=False, reason="nearly silent")
        return rec
    if st["dr"] < MIN_DYN_RANGE_DB:
        rec.update(keep=False, reason="noise floor")
        return rec
    y = trim(x)
    if len(y) < MIN_SPEECH_S * SR:
        rec.update(keep=False, reason="too short")
        return rec
    rec["bandwidth_hz"] = round(min(bandwidth_hz(y), band))
    rec["dur"] = round(len(y) / SR, 3)
    rec["keep"] = True
    if not DRY and not out.exists():
        write_wav(out, y)
    return rec


def stage_speech(jobs, v2=False):
    items = real_speech_items_v2() if v2 else real_speech_items()
    name = "speech_v2" if v2 else "speech_real"
    man = CACHE / f"{name}.json"
    if man.exists() and not DRY:
        recs = json.loads(man.read_text())
        if len(recs) == len(items) and all(Path(r["path"]).exists() for r in recs if r["keep"]):
            print(f"{name}: {len(recs)} clips already done")
            return recs
    print(f"{name}: processing {len(items)} real clips with {jobs} jobs", flush=True)
    with Pool(jobs) as pool:
        recs = pool.map(process_real, items, chunksize=16)
    write_json(CACHE / f"{name}_analysis.json" if DRY else man, recs)
    return recs


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=0))
    os.replace(tmp, path)


def report_speech(recs):
    g = defaultdict(list)
    for r in recs:
        many = r["source"] in ("fillets", "amazon_queen")  # many voices: one line per split
        g[(r["source"], r["split"] if many else r["speaker"])].append(r)
    print(f"{'group':28s} {'n':>5s} {'keep':>5s} {'min':>6s} {'dr50':>6s} {'p10_50':>7s} {'hum50':>6s} {'bw50':>6s} reasons")
    for k in sorted(g):
        rs = g[k]
        kept = [r for r in rs if r["keep"]]
        reasons = defaultdict(int)
        for r in rs:
            if not r["keep"]:
                reasons[r["reason"]] += 1
        def med(key, rr=rs):
            v = [r[key] for r in rr if key in r]
            return np.median(v) if v else float("nan")
        print(f"{'/'.join(k):28s} {len(rs):5d} {len(kept):5d} {sum(r['dur'] for r in kept)/60:6.1f} "
              f"{med('dr'):6.1f} {med('floor'):7.1f} {med('hum_db'):6.1f} {med('bandwidth_hz', kept):6.0f} {dict(reasons)}")


# ---------------------------------------------------------------- synthetic speech
ESPEAK_LANGS = {  # espeak-ng voice -> tuxpaint locale key for the text
    "en-us": "en", "en-gb": "en_GB", "de": "de", "fr-fr": "fr", "es": "es", "it": "it", "pt": "pt",
    "pt-br": "pt_BR", "nl": "nl", "sv": "sv", "nb": "nb", "da": "da", "fi": "fi", "pl": "pl",
    "cs": "cs", "sk": "sk", "hu": "hu", "ro": "ro", "ru": "ru", "uk": "uk", "bg": "bg", "el": "el",
    "tr": "tr", "ca": "ca", "hr": "hr", "sl": "sl", "lt": "lt", "lv": "lv", "et": "et", "is": "is",
    "ga": "ga", "cy": "cy", "eu": "eu", "id": "id", "vi": "vi", "hi": "hi", "ta": "ta",
    "ka": "ka", "hy": "hy", "sq": "sq", "mk": "mk", "sr": "sr", "af": "af", "eo": "eo", "cmn": "zh_CN",
    "ja": "ja", "ko": "ko", "ar": "ar", "he": "he", "fa": "fa", "th": "th", "sw": "sw",
}
ESPEAK_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f4", "f5",
                   "Adam", "Alicia", "Annie", "Antonio", "Belinda", "Benjamin", "Caleb", "David",
                   "Gene", "Henrique", "Hugo", "Linda", "Michael", "Paul", "Pedro", "Quincy",
                   "Rob", "Steph", "Storm", "Zac", "anika", "grandma", "grandpa",
                   "Andrea", "m6"]
FLITE_VOICES = ["kal16", "awb", "slt", "rms"]
EN_FALLBACK = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you get this message.",
    "I think the meeting has been moved to Thursday afternoon.",
    "Can you hear me now, or is the line still breaking up?",
    "We should be there in about twenty minutes if traffic is light.",
]


def load_texts():
    """Descriptions from the tuxpaint stamp .txt files, keyed by locale ('en' = untagged first line)."""
    texts = defaultdict(list)
    for p in sorted(TUX_DIR.rglob("*.txt")):
        try:
            lines = p.read_text(encoding="utf-8", errors="ignore").splitlines()
        except OSError:
            continue
        for i, ln in enumerate(lines):
            ln = ln.strip()
            if not ln:
                continue
            m = re.match(r"([A-Za-z_@]+)\.utf8=(.*)$", ln)
            if m:
                loc, t = m.group(1), m.group(2).strip()
            elif i == 0:
                loc, t = "en", ln
            else:
                continue
            t = t.strip(" \"'")
            if len(t) >= 8:
                texts[loc].append(t)
    return texts


def synth_items():
    texts = load_texts()
    items = []
    # espeak: round-robin over languages with text; each utterance joins 1-3 descriptions
    langs = [l for l in ESPEAK_LANGS if len(texts.get(ESPEAK_LANGS[l], [])) >= 50]
    est = 0.0
    i = 0
    while est < ESPEAK_TARGET_S:
        lang = langs[i % len(langs)]
        r = rng_for("espeak", i)
        variant = ESPEAK_VARIANTS[r.integers(len(ESPEAK_VARIANTS))]
        pool = texts[ESPEAK_LANGS[lang]]
        text = " ".join(pool[j] for j in r.choice(len(pool), size=int(r.integers(1, 4)), replace=False))
        pitch = int(r.integers(25, 76))
        speed = int(r.integers(130, 196))
        split = "dev" if variant in ESPEAK_DEV_VARIANTS else "train"
        items.append(("espeak", f"{lang}+{variant}", split, text, pitch, speed, f"espeak/{variant}/{i:05d}_{lang}.wav"))
        est += len(text) * 0.075 * 170 / speed  # rough seconds per character
        i += 1
    en = texts.get("en", []) or EN_FALLBACK
    est = 0.0
    i = 0
    while est < FLITE_TARGET_S:
        r = rng_for("flite", i)
        voice = FLITE_VOICES[i % len(FLITE_VOICES)]
        text = " ".join(en[j] for j in r.choice(len(en), size=int(r.integers(1, 4)), replace=False))
        stretch = float(r.uniform(0.85, 1.15))
        split = "dev" if voice in FLITE_DEV_VOICES else "train"
        items.append(("flite", voice, split, text, 0, stretch, f"flite/{voice}/{i:05d}.wav"))
        est += len(text) * 0.07 * stretch
        i += 1
    return items


def process_synth(item):
    source, spk, split, text, pitch, speed, rel = item
    out = SPEECH / split / rel
    voice = spk.split("+")[-1]  # espeak: the variant is the voice; the language only changes phonemes
    rec = {"source": source, "speaker": spk, "voice": voice, "split": split, "src": text[:60], "path": str(out)}
    with tempfile.TemporaryDirectory() as td:
        wav = os.path.join(td, "o.wav")
        if source == "espeak":
            cmd = ["espeak-ng", "-v", spk, "-p", str(pitch), "-s", str(speed), "-w", wav, text]
            env = None
        else:
            cmd = [str(FLITE_BIN), "-voice", spk, "--setf", f"duration_stretch={speed:.3f}",
                   "-t", text, "-o", wav]
            env = dict(os.environ, LD_LIBRARY_PATH=str(FLITE_LIB))
        if not out.exists():
            res = subprocess.run(cmd, capture_output=True, env=env)
            if res.returncode != 0 or not os.path.exists(wav):
                rec.update(keep=False, reason="synth failed: " + res.stderr.decode(errors="ignore")[:100])
                return rec
            x = load_48k_mono(wav)
            x = trim(peak_normalise(x - np.mean(x)))
            if len(x) < MIN_SPEECH_S * SR:
                rec.update(keep=False, reason="too short")
                return rec
            write_wav(out, x)
    info = sf.info(str(out))
    y = sf.read(str(out), dtype="float64")[0]
    rec.update(keep=True, dur=round(info.duration, 3), bandwidth_hz=round(min(bandwidth_hz(y), 11025 if source == "espeak" else 8000)))
    rec.update({k: round(v, 2) for k, v in speech_stats(y).items()})
    return rec


def stage_synth(jobs):
    if not FLITE_BIN.exists():
        sys.exit("flite not extracted: run prepare.sh")
    items = synth_items()
    man = CACHE / "speech_synth.json"
    if man.exists():
        recs = json.loads(man.read_text())
        if len(recs) == len(items) and all(Path(r["path"]).exists() for r in recs if r["keep"]):
            print(f"synth: {len(recs)} utterances already done")
            return recs
    print(f"synth: {len(items)} utterances with {jobs} jobs")
    with Pool(jobs) as pool:
        recs = pool.map(process_synth, items, chunksize=8)
    write_json(man, recs)
    return recs


# ---------------------------------------------------------------- noise
OAD_EXCLUDE = ("voice/", "actor/human/death/")  # speech and vocal screams are not noise
OAD_AMBIENT = ("ambient/",)


def oad_category(rel):
    parts = rel.split("/")
    if parts[0] == "ambient":
        # ambient/<group>/<name>_NN.ogg: the sound family (rain, wind, amb_trade, river_fast, ...)
        fam = re.sub(r"(_gen)?_\d+$", "", Path(parts[-1]).stem)
        return "ambient", f"{parts[1]}/{fam}"
    if parts[0] == "music":
        return "music", "music"
    return "effects", "/".join(parts[:2])


def split_by_rank(names, frac, key):
    """Hold out round(frac*n) (at least 1 when n >= 3) of names, chosen by hash rank."""
    names = sorted(names, key=lambda n: hash01(key, n))
    k = int(round(frac * len(names)))
    if len(names) >= 3:
        k = max(k, 1)
    return set(names[:k])


def pick_dev_by_duration(files, frac, key):
    """Hold out files (in hash-rank order) until they make up about frac of the group's duration.

    Files that would push the held-out share past 1.5*frac are passed over, so one long file does
    not swallow the dev set; at least one file is held out when the group has three or more."""
    return pick_by_duration({rel: sf.info(str(p)).duration for rel, p in files}, frac, key)


def pick_by_duration(durs, frac, key):
    """pick_dev_by_duration() on a {name: seconds} dict."""
    total = sum(durs.values())
    dev, acc = set(), 0.0
    for rel in sorted(durs, key=lambda n: hash01(key, n)):
        if acc >= frac * total:
            break
        if acc + durs[rel] <= 1.5 * frac * total:
            dev.add(rel)
            acc += durs[rel]
    if not dev and len(durs) >= 3:
        dev.add(min(durs, key=lambda n: hash01(key, n)))
    return dev


def noise_plan():
    """List of jobs: ('file'|'music'|'bed'|'keys', split, out_rel, sources, seedkey)."""
    files = []
    for p in sorted(OAD_DIR.rglob("*.ogg")):
        rel = p.relative_to(OAD_DIR).as_posix()
        if rel.startswith(OAD_EXCLUDE):
            continue
        files.append((rel, p))
    by_cat = defaultdict(list)
    for rel, p in files:
        kind, cat = oad_category(rel)
        by_cat[(kind, cat)].append((rel, p))
    jobs = []
    # ambience: hold out whole families where a group has several, else files
    amb_groups = defaultdict(list)
    for (kind, cat), lst in by_cat.items():
        if kind == "ambient":
            amb_groups[cat.split("/")[0]].append((cat, lst))
    for grp, fams in sorted(amb_groups.items()):
        lst = sorted((rel, p) for _, l in fams for rel, p in l)
        dev = pick_dev_by_duration(lst, NOISE_DEV_FRACTION, "ambient/" + grp)
        for rel, p in lst:
            split = "dev" if rel in dev else "train"
            jobs.append(("file", split, "0ad_ambient/" + rel.replace("/", "_").replace(".ogg", ".wav"),
                         [str(p)], rel))
    # music: excerpt per track, ~15 % of tracks held out
    music = sorted(rel for (kind, _), lst in by_cat.items() if kind == "music" for rel, _ in lst)
    mdev = split_by_rank(music, NOISE_DEV_FRACTION, "music")
    for rel in music:
        split = "dev" if rel in mdev else "train"
        jobs.append(("music", split, "0ad_music/" + Path(rel).stem + ".wav", [str(OAD_DIR / rel)], rel))
    # effects: per category, hold out ~15 % of files, then concatenate short ones into beds;
    # files of at least EFFECT_BED_S/2 stand alone
    for (kind, cat), lst in sorted(by_cat.items()):
        if kind != "effects":
            continue
        rels = sorted(rel for rel, _ in lst)
        dev = split_by_rank(rels, NOISE_DEV_FRACTION, "effects/" + cat)
        for split in ("train", "dev"):
            srcs = [str(OAD_DIR / r) for r in rels if (r in dev) == (split == "dev")]
            if srcs:
                jobs.append(("bed", split, "0ad_effects/" + cat.replace("/", "_"), srcs, cat))
    # keyboard: hold out ~15 % of the key sounds (press/release pairs stay together)
    keys = sorted({p.name.split("-")[0] for p in BUCKLE_DIR.glob("*.wav")})
    kdev = split_by_rank(keys, NOISE_DEV_FRACTION, "keys")
    for split, n in (("train", KEYBOARD_TRAIN_FILES), ("dev", KEYBOARD_DEV_FILES)):
        srcs = sorted(str(p) for p in BUCKLE_DIR.glob("*.wav") if (p.name.split("-")[0] in kdev) == (split == "dev"))
        for i in range(n):
            jobs.append(("keys", split, f"keyboard/typing_{i:02d}.wav", srcs, f"keys{i}"))
    return jobs


def noise_plan_v2():
    """Jobs as in noise_plan() for the v2 noise packages, and {package: [skipped file (why)]}.

    Per package, NOISE_DEV_FRACTION of the duration is held out by file (hash rank); identical copies
    under two names are used once. Files of NEW_NOISE_WHOLE_S or more are kept whole, shorter ones are
    concatenated into beds per package and split."""
    jobs, skipped = [], defaultdict(list)
    for name, (root, globs) in NEW_NOISE_SOURCES.items():
        files, seen = [], {}
        for pat in globs:
            for p in sorted(root.glob(pat)):
                rel = p.relative_to(root).as_posix()
                digest = hashlib.md5(p.read_bytes()).hexdigest()
                if rel in NEW_NOISE_EXCLUDE.get(name, ()):
                    skipped[name].append(f"{rel} (speech, voice or music)")
                elif digest in seen:
                    skipped[name].append(f"{rel} (copy of {seen[digest]})")
                else:
                    seen[digest] = rel
                    files.append((rel, p))
        dev = pick_dev_by_duration(files, NOISE_DEV_FRACTION, "v2/" + name)
        for split in ("train", "dev"):
            short = []
            for rel, p in files:
                if (rel in dev) != (split == "dev"):
                    continue
                if sf.info(str(p)).duration >= NEW_NOISE_WHOLE_S:
                    out = f"{name}/{Path(rel).with_suffix('').as_posix().replace('/', '_')}.wav"
                    jobs.append(("file", split, out, [str(p)], f"{name}/{rel}"))
                else:
                    short.append(str(p))
            if short:
                jobs.append(("bed", split, f"{name}/beds", short, name))
    return jobs, dict(skipped)


def _fade(y, n=480):
    n = min(n, len(y) // 2)
    if n > 0:
        r = np.linspace(0, 1, n)
        y[:n] *= r
        y[-n:] *= r[::-1]
    return y


def process_noise(job):
    kind, split, rel, srcs, key = job
    outs = []
    if kind == "file":
        out = NOISE / split / rel
        if not out.exists():
            x = load_48k_mono(srcs[0])
            write_wav(out, peak_normalise(_fade(x - np.mean(x))))
        outs.append(out)
    elif kind == "music":
        out = NOISE / split / rel
        if not out.exists():
            x = load_48k_mono(srcs[0])
            r = rng_for("music", key)
            n = int(MUSIC_EXCERPT_S * SR)
            # skip the first/last 10 % (intros, fade-outs)
            lo, hi = int(0.1 * len(x)), max(int(0.9 * len(x)) - n, int(0.1 * len(x)) + 1)
            a = int(r.integers(lo, hi)) if hi > lo else 0
            write_wav(out, peak_normalise(_fade(x[a : a + n].copy(), 4800)))
        outs.append(out)
    elif kind == "bed":
        base = NOISE / split / rel
        done = sorted(base.parent.glob(base.name + "_*.wav"))
        marker = base.parent / (base.name + ".done")
        if marker.exists():
            return [str(p) for p in done]
        r = rng_for("bed", split, key)
        clips = []
        for s in srcs:
            x = load_48k_mono(s)
            x = x - np.mean(x)
            clips.append(peak_normalise(_fade(x)))
        long_ = [c for c in clips if len(c) >= EFFECT_BED_S / 2 * SR]
        short = [c for c in clips if len(c) < EFFECT_BED_S / 2 * SR]
        beds = list(long_)
        if short:
            total = sum(len(c) for c in short)
            nbeds = max(1, int(round(total / (EFFECT_BED_S * SR * 0.6))))
            order = r.permutation(len(short))
            groups = [order[i::nbeds] for i in range(nbeds)]
            for g in groups:
                parts = []
                for j in g:
                    gap = int(r.uniform(0.1, 1.5) * SR)
                    parts += [np.zeros(gap), short[j] * 10 ** (r.uniform(-12, 0) / 20)]
                parts.append(np.zeros(int(0.3 * SR)))
                beds.append(np.concatenate(parts))
        for i, b in enumerate(beds):
            out = base.parent / f"{base.name}_{i:02d}.wav"
            write_wav(out, peak_normalise(b))
            outs.append(out)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("\n".join(str(o) for o in outs) + "\n")
    elif kind == "keys":
        out = NOISE / split / rel
        if not out.exists():
            r = rng_for("keys", split, key)
            clicks = {s: load_48k_mono(s) for s in srcs}
            presses = [s for s in srcs if s.endswith("-0.wav")]
            y = np.zeros(int(KEYBOARD_FILE_S * SR) + SR)
            t = int(r.uniform(0.0, 0.5) * SR)
            speed = r.uniform(0.6, 1.4)  # typist speed factor
            while t < KEYBOARD_FILE_S * SR:
                k = presses[r.integers(len(presses))]
                rel_ = k[:-6] + "-1.wav"
                g = 10 ** (r.uniform(-8, 0) / 20)
                for s, off in ((k, 0), (rel_, int(r.uniform(0.05, 0.15) * SR))):
                    if s in clicks:
                        c = clicks[s]
                        a = t + off
                        b = min(len(y), a + len(c))
                        if a < len(y):
                            y[a:b] += g * c[: b - a]
                # inter-key interval: mostly 80-300 ms, sometimes a pause (thinking, word gaps)
                u = r.random()
                if u < 0.08:
                    gap = r.uniform(0.8, 3.0)
                elif u < 0.25:
                    gap = r.uniform(0.25, 0.6)
                else:
                    gap = r.uniform(0.08, 0.3)
                t += int(gap * speed * SR)
            write_wav(out, peak_normalise(y[: int(KEYBOARD_FILE_S * SR)]))
        outs.append(out)
    return [str(o) for o in outs]


def stage_noise(jobs, v2=False):
    plan, skipped = noise_plan_v2() if v2 else (noise_plan(), None)
    print(f"noise{'_v2' if v2 else ''}: {len(plan)} jobs with {jobs} jobs", flush=True)
    # the expensive ones first so the pool stays busy
    with Pool(jobs) as pool:
        res = pool.map(process_noise, plan, chunksize=1)
    recs = []
    for (kind, split, rel, srcs, key), outs in zip(plan, res):
        for o in outs:
            cls = rel.split("/")[0]
            recs.append({"source": cls, "split": split, "path": o, "kind": kind,
                         "dur": round(sf.info(o).duration, 3), "from": key,
                         "sources": [os.path.relpath(x, EXTRACT) for x in srcs]})
    if v2:
        write_json(CACHE / "noise_v2.json", {"recs": recs, "skipped": skipped})
        return recs, skipped
    write_json(CACHE / "noise.json", recs)
    return recs


# ---------------------------------------------------------------- lists and summary
def write_lists(suffix, speech_recs, noise_recs):
    """lists/{speech,noise}_{train,dev}<suffix>.txt and *_meta<suffix>.tsv; returns summary lines."""
    lines = []
    for kind, recs in (("speech", speech_recs), ("noise", noise_recs)):
        recs = [r for r in recs if r.get("keep", True)]
        for split in ("train", "dev"):
            rs = sorted((r for r in recs if r["split"] == split), key=lambda r: r["path"])
            (LISTS / f"{kind}_{split}{suffix}.txt").write_text("".join(r["path"] + "\n" for r in rs))
            tot = sum(r["dur"] for r in rs)
            lines.append(f"{kind}_{split}{suffix}.txt: {len(rs)} files, {tot/60:.1f} min")
            by = defaultdict(lambda: [0, 0.0, set()])
            for r in rs:
                b = by[r["source"]]
                b[0] += 1
                b[1] += r["dur"]
                b[2].add(r.get("voice", r.get("speaker", r.get("from", ""))))
            for s in sorted(by):
                n, d, spk = by[s]
                extra = f", {len(spk)} voices" if kind == "speech" else ""
                lines.append(f"    {s:14s} {n:6d} files {d/60:7.1f} min{extra}")
        # per-file metadata, tab separated
        cols = ["path", "split", "source", "speaker", "dur", "bandwidth_hz", "dr", "hum_db"] if kind == "speech" \
            else ["path", "split", "source", "kind", "dur", "from"]
        with open(LISTS / f"{kind}_meta{suffix}.tsv", "w") as f:
            f.write("\t".join(cols) + "\n")
            for r in sorted(recs, key=lambda r: r["path"]):
                f.write("\t".join(str(r.get(c, "")) for c in cols) + "\n")
    return lines


def reject_lines(title, speech_recs):
    rej = [r for r in speech_recs if not r.get("keep", True)]
    reasons = defaultdict(lambda: defaultdict(int))
    for r in rej:
        reasons[r["source"]][r["reason"].split(":")[0]] += 1
    lines = [f"{title}: {len(rej)} clips"]
    for s in sorted(reasons):
        lines.append(f"    {s:14s} {dict(reasons[s])}")
    return lines


def leak_lines(speech_recs, noise_recs, suffix=""):
    """No voice, and no noise source file, on both sides."""
    sp_tr = {(r["source"], r.get("voice", r["speaker"])) for r in speech_recs if r["split"] == "train" and r["keep"]}
    sp_dv = {(r["source"], r.get("voice", r["speaker"])) for r in speech_recs if r["split"] == "dev" and r["keep"]}
    nz_tr = {s for r in noise_recs if r["split"] == "train" for s in r["sources"]}
    nz_dv = {s for r in noise_recs if r["split"] == "dev" for s in r["sources"]}
    what = f" (*{suffix} lists)" if suffix else ""
    return [f"speech voices in both train and dev{what}: {len(sp_tr & sp_dv)} {sorted(sp_tr & sp_dv)[:5]}",
            f"noise source files in both train and dev{what}: {len(nz_tr & nz_dv)} {sorted(nz_tr & nz_dv)[:5]}"]


def v2_source_lines(speech_v2, noise_v2, skipped):
    """Per new source: clips, minutes and voices on each side, and the speech filter's rejects."""
    lines = ["v2 sources (in the *_v2 lists only):"]
    for kind, recs in (("speech", speech_v2), ("noise", noise_v2)):
        for src in sorted({r["source"] for r in recs}):
            rs = [r for r in recs if r["source"] == src]
            cells = []
            for split in ("train", "dev"):
                k = [r for r in rs if r["split"] == split and r.get("keep", True)]
                voices = f", {len({r['speaker'] for r in k}):2d} voices" if kind == "speech" else ""
                cells.append(f"{split} {len(k):5d} files {sum(r['dur'] for r in k)/60:6.1f} min{voices}")
            if kind == "speech":
                cells.append(f"rejected {sum(not r.get('keep', True) for r in rs)} of {len(rs)}")
            lines.append(f"    {kind:6s} {src:13s} " + " | ".join(cells))
    for name, files in sorted(skipped.items()):
        lines.append(f"    noise  {name:13s} left out {len(files)}: " + ", ".join(files))
    return lines


def stage_lists(speech_recs, noise_recs, speech_v2, noise_v2, skipped):
    LISTS.mkdir(parents=True, exist_ok=True)
    lines = write_lists("", speech_recs, noise_recs)
    lines += reject_lines("speech rejected by the filters", speech_recs)
    lines += leak_lines(speech_recs, noise_recs)
    lines.append("")
    lines += write_lists("_v2", speech_recs + speech_v2, noise_recs + noise_v2)
    lines += v2_source_lines(speech_v2, noise_v2, skipped)
    lines += reject_lines("v2 sources' speech rejected by the filters", speech_v2)
    lines += leak_lines(speech_recs + speech_v2, noise_recs + noise_v2, "_v2")
    listed = {r["path"] for r in speech_recs + noise_recs + speech_v2 + noise_v2 if r.get("keep", True)}
    on_disk = {str(p) for d in (SPEECH, NOISE) for p in d.rglob("*.wav")}
    lines.append(f"wav files on disk but in no list (stale, safe to delete): {len(on_disk - listed)}")
    text = "\n".join(lines) + "\n"
    (LISTS / "summary.txt").write_text(text)
    print(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", default="all", choices=["all", "speech", "synth", "noise", "lists", "analyze"])
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    a = ap.parse_args()
    if a.stage == "analyze":
        global DRY
        DRY = True
        report_speech(stage_speech(a.jobs) + stage_speech(a.jobs, v2=True))
        return
    sp, sv = ([], [])
    if a.stage in ("all", "speech", "lists"):
        sp, sv = stage_speech(a.jobs), stage_speech(a.jobs, v2=True)
    sy = stage_synth(a.jobs) if a.stage in ("all", "synth", "lists") else []
    nz, nv, skipped = [], [], {}
    if a.stage in ("all", "noise", "lists"):
        nz = stage_noise(a.jobs)
        nv, skipped = stage_noise(a.jobs, v2=True)
    if a.stage in ("all", "lists"):
        report_speech(sp + sv)
        stage_lists(sp + sy, nz, sv, nv, skipped)


if __name__ == "__main__":
    main()
