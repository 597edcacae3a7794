#!/usr/bin/env python3
"""How a teacher's band targets differ from the oracle's on the same mixtures.

    python training/teacher/compare_targets.py training/data/dumps/teach_oracle training/data/dumps/teach_teacher

Both dumps must come from the same --seed/--hours (the script checks the features are identical).
Prints the mean target gain of each, their correlation and the RMS difference on sqrt-gain (the scale
the trainer's loss uses), over bands where both are defined.
"""
import sys

import numpy as np


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a_dir, b_dir = sys.argv[1:]
    fa = np.load(f"{a_dir}/features.npy", mmap_mode="r")
    fb = np.load(f"{b_dir}/features.npy", mmap_mode="r")
    if fa.shape != fb.shape or not np.array_equal(fa[:100_000], fb[:100_000]):
        sys.exit("error: the two dumps do not hold the same mixtures (features differ)")
    a = np.load(f"{a_dir}/targets.npy")
    b = np.load(f"{b_dir}/targets.npy")
    m = (a >= 0) & (b >= 0)
    print(f"bands compared: {int(m.sum())}")
    print(f"mean target gain: {a_dir} {a[m].mean():.3f}, {b_dir} {b[m].mean():.3f}")
    print(f"correlation: {np.corrcoef(a[m], b[m])[0, 1]:.3f}")
    print(f"RMS difference of sqrt-gain: {np.sqrt(np.mean((np.sqrt(a[m]) - np.sqrt(b[m])) ** 2)):.3f}")


if __name__ == "__main__":
    main()
