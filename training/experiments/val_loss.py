"""Streaming validation loss of checkpoints on one dump (same definition as train.py's validation),
so runs trained with different validation dumps can be compared on the same mixtures:

    training/.venv/bin/python training/experiments/val_loss.py --data training/data/dumps/dev_v2_s777 \
        training/runs/standard_v2/best.pt
"""
import argparse, os, sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from quell_model import QuellNet  # noqa: E402
from train import Stream, evaluate  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("ckpts", nargs="+")
a = ap.parse_args()
torch.set_num_threads(1)
stream = Stream([a.data])
for path in a.ckpts:
    c = torch.load(path, map_location="cpu", weights_only=False)
    m = QuellNet(**c["config"])
    m.load_state_dict(c["model"])
    args = argparse.Namespace(batch=32, seq=400, val_max_frames=240_000, device="cpu", quartic=4.0,
                              over_suppress=0.0, vad_weight=0.05, speech_weight=5.0,
                              gain_weight=1.0)
    r = evaluate(m, stream, args)
    print(f"{path}: step {c.get('step')} gain loss {r['gain']:.5f} mse {r['mse']:.5f} vad {r['vad']:.4f}")
