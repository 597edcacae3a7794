"""Quality tables for a model card, cut from an evaluate.py run (its per-clip JSON): the same numbers as
the full report, restricted to the systems named.

    training/.venv/bin/python training/eval/card_tables.py --json docs/eval-devset.json \
        --systems noisy,quell:standard,rnnoise,deepfilternet
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import build_report  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--systems", required=True, help="comma-separated system names, in table order")
    a = ap.parse_args()
    with open(a.json) as f:
        r = json.load(f)
    want = [s.strip() for s in a.systems.split(",") if s.strip()]
    info = {s["name"]: s for s in r["systems"]}
    missing = [s for s in want if s not in info]
    if missing:
        sys.exit(f"error: {a.json} has no system(s) {missing}; it has {list(info)}")
    systems = [info[s] for s in want]
    results = [c for c in r["clips"] if c["system"] in want]
    clips = r.get("clip_list") or [{"id": c["id"], "snr_db": c["snr_db"]} for c in r["clips"]]
    snrs = sorted({c["snr_db"] for c in clips})
    report = build_report(r["meta"], systems, clips, results, snrs)
    # Keep the tables only: from "## Overall" up to the timing section.
    body = report.split("## Overall\n", 1)[1].split("## Timing and alignment", 1)[0]
    print("Overall:\n" + body.replace("## ", "").rstrip())


if __name__ == "__main__":
    main()
