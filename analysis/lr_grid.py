#!/usr/bin/env python3
"""The learning-rate rule of the Fashion-MNIST study (experiments/run_fmnist_study.sh).

usage: lr_grid.py STUDY_DIR MODEL METHOD RATE...
Reads STUDY_DIR/val-MODEL-METHOD-lrRATE/results.h5 for each RATE tried and prints one line:
  best RATE   the rate with the best average validation accuracy (the smaller one on a tie)
  try RATE    the best rate is the smallest or the largest tried: the next rate past it on the
              1-2-5 scale, so that the chosen rate is bracketed by worse ones on both sides
              (rates stay within [LOWEST, HIGHEST]; at a bound the edge rate is taken)"""
import math
import os
import sys

import h5py
import numpy as np

LOWEST, HIGHEST = 1e-4, 0.5


def choose(scores):
    """The rate with the best score, the smaller rate on a tie ({rate: score}). Scores are means of
    accuracies on a few hundred images: equal ones can differ in the last bits of their sums, so
    they are compared to 1e-9."""
    return max(sorted(scores), key=lambda lr: (round(scores[lr], 9), -lr))


def neighbour(lr, direction):
    """The rate next to lr on the 1-2-5 scale, direction -1 (down) or +1 (up)."""
    exponent = math.floor(math.log10(lr) + 1e-9)
    scale = [1, 2, 5]
    i = scale.index(round(lr / 10 ** exponent)) + direction
    return scale[i % 3] * 10.0 ** (exponent + i // 3)


def next_step(scores):
    """('best', rate) once the best rate is bracketed or at a bound, else ('try', rate)."""
    best = choose(scores)
    for edge, direction in ((min(scores), -1), (max(scores), +1)):
        if best == edge:
            rate = neighbour(best, direction)
            if LOWEST * 0.999 <= rate <= HIGHEST * 1.001:
                return "try", rate
    return "best", best


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    study, model, method, *rates = argv
    scores = {}
    for text in rates:
        path = os.path.join(study, f"val-{model}-{method}-lr{text}", "results.h5")
        with h5py.File(path, "r") as f:
            scores[float(text)] = float(np.mean(f["accuracy"][()]))
    verdict, rate = next_step(scores)
    print(verdict, f"{rate:g}")


if __name__ == "__main__":
    main(sys.argv[1:])
