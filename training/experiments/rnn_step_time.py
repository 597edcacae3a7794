#!/usr/bin/env python3
"""Time PyTorch's nn.GRU against nn.LSTM on this CPU, one thread, at the study's size and batch shape
(batch 32 x 400 frames, 64 -> 64, one layer): forward+backward and forward only, best of 3 rounds of 3.

    nice -n 19 training/.venv/bin/python training/experiments/rnn_step_time.py [--hidden 64] [--layers 1]
"""

import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dense", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=400)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.seq, args.dense)
    best = {}
    for _ in range(3):
        for cls in (torch.nn.GRU, torch.nn.LSTM):
            m = cls(args.dense, args.hidden, num_layers=args.layers, batch_first=True)
            t = time.perf_counter()
            for _ in range(3):
                y, _ = m(x)
                y.sum().backward()
            fb = (time.perf_counter() - t) / 3
            t = time.perf_counter()
            with torch.no_grad():
                for _ in range(3):
                    m(x)
            fw = (time.perf_counter() - t) / 3
            k = cls.__name__
            best[k] = (min(best.get(k, (fb, fw))[0], fb), min(best.get(k, (fb, fw))[1], fw))
    print(f"torch {torch.__version__}, 1 thread, batch {args.batch} x {args.seq}, {args.dense} -> "
          f"{args.hidden} x {args.layers}")
    print("| cell | forward+backward (s) | forward (s) |")
    print("|---|---:|---:|")
    for k, (fb, fw) in best.items():
        print(f"| {k} | {fb:.3f} | {fw:.3f} |")


if __name__ == "__main__":
    main()
