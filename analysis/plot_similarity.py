#!/usr/bin/env python3
"""Heatmaps of a similarity file (every snapshot and the average) and a dendrogram of the
average (complete linkage on 1 - S, the distance behind the threshold rule).

usage: plot_similarity.py SIMILARITY.h5 --out DIR
Writes DIR/similarity_snapshot_<k>.png, DIR/similarity_average.png, DIR/dendrogram.png."""
import argparse
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.cluster.hierarchy import dendrogram, linkage
from scipy.spatial.distance import squareform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clipmtl_files import read_similarity


def heatmap(S, tasks, title, path):
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(tasks), 1.0 + 0.6 * len(tasks)))
    im = ax.imshow(S, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    ax.set_yticks(range(len(tasks)), tasks)
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            ax.text(j, i, f"{S[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(S[i, j]) > 0.6 else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("similarity")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sim = read_similarity(a.similarity)
    os.makedirs(a.out, exist_ok=True)
    tasks = sim["tasks"]
    for k, step in enumerate(sim["steps"]):
        heatmap(sim["cosine"][k], tasks, f"gradient cosine, step {step}",
                os.path.join(a.out, f"similarity_snapshot_{k}.png"))
    heatmap(sim["average"], tasks, f"average over {len(sim['steps'])} snapshots",
            os.path.join(a.out, "similarity_average.png"))
    if len(tasks) >= 2:
        D = np.clip(1.0 - sim["average"], 0.0, 2.0)
        np.fill_diagonal(D, 0.0)
        Z = linkage(squareform((D + D.T) / 2, checks=False), method="complete")
        fig, ax = plt.subplots(figsize=(2 + 0.6 * len(tasks), 3.5))
        dendrogram(Z, labels=tasks, ax=ax)
        ax.set_ylabel("1 - similarity (complete linkage)")
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "dendrogram.png"), dpi=100)
        plt.close(fig)
    print(f"{len(sim['steps'])} snapshots of {len(tasks)} tasks -> {a.out}")


if __name__ == "__main__":
    main()
