#!/usr/bin/env python3
"""How the threshold rule groups the tasks as tau varies, from a similarity file.

usage: groups_vs_tau.py SIMILARITY.h5 --out DIR [--steps 41]
Writes DIR/groups_vs_tau.csv (tau, number of groups, grouping) and DIR/groups_vs_tau.png."""
import argparse
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clipmtl_files import read_similarity, threshold_groups


def describe(label, tasks):
    return " | ".join("+".join(tasks[i] for i in np.flatnonzero(label == g)) for g in range(label.max() + 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("similarity")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=41)
    a = ap.parse_args()
    sim = read_similarity(a.similarity)
    os.makedirs(a.out, exist_ok=True)
    taus = np.linspace(-1.0, 1.0, a.steps)
    rows = [(tau, threshold_groups(sim["average"], tau)) for tau in taus]
    with open(os.path.join(a.out, "groups_vs_tau.csv"), "w") as f:
        f.write("tau,groups,grouping\n")
        for tau, label in rows:
            f.write(f"{tau:.4f},{label.max() + 1},\"{describe(label, sim['tasks'])}\"\n")
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.step(taus, [label.max() + 1 for _, label in rows], where="post")
    ax.set_xlabel("threshold tau")
    ax.set_ylabel("groups")
    ax.set_ylim(0, len(sim["tasks"]) + 0.5)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "groups_vs_tau.png"), dpi=100)
    plt.close(fig)
    print(f"{len(taus)} thresholds -> {a.out}/groups_vs_tau.csv")


if __name__ == "__main__":
    main()
