#!/usr/bin/env python3
"""Heatmaps of a similarity file (every snapshot and the average) and a dendrogram of the
average (complete linkage on 1 - S, the distance behind the threshold rule), coloured by the
run's grouping: a task's label and every link joining tasks of one group take that group's
colour, links across groups are grey. The grouping is the similarity file's own (the run's rule)
unless --results names a phase-2 results file (e.g. a run regrouped with another threshold).

usage: plot_similarity.py SIMILARITY.h5 --out DIR [--results RESULTS.h5]
Writes DIR/similarity_snapshot_<k>.png, DIR/similarity_average.png, DIR/dendrogram.png."""
import argparse
import os
import sys
import textwrap

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex
from scipy.cluster.hierarchy import dendrogram, linkage
from scipy.spatial.distance import squareform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clipmtl_files import read_results, read_similarity

ACROSS_GROUPS = "#808080"
LABEL_WIDTH = 14  # characters per line of a task name under the plots


def wrap(name):
    return textwrap.fill(name, LABEL_WIDTH, break_long_words=True)


def group_colours(groups):
    cmap = plt.get_cmap("tab10" if groups.max() < 10 else "tab20")
    return [to_hex(cmap(g % cmap.N)) for g in range(groups.max() + 1)]


def heatmap(S, tasks, title, path):
    labels = [wrap(t) for t in tasks]
    fig, ax = plt.subplots(figsize=(1.8 + 0.6 * len(tasks), 1.6 + 0.6 * len(tasks)))
    im = ax.imshow(S, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(tasks)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tasks)), labels, fontsize=8)
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            ax.text(j, i, f"{S[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(S[i, j]) > 0.6 else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def link_leaves(Z, n):
    """Tasks under each link of a linkage matrix: entry i for link n + i."""
    leaves = [[t] for t in range(n)]
    for a, b in Z[:, :2].astype(int):
        leaves.append(leaves[a] + leaves[b])
    return leaves[n:]


def dendrogram_figure(S, tasks, groups):
    """The dendrogram of similarity S coloured by `groups` (group of each task); returns the
    figure and what scipy drew (leaf order, colour of each link)."""
    n = len(tasks)
    D = np.clip(1.0 - S, 0.0, 2.0)
    np.fill_diagonal(D, 0.0)
    Z = linkage(squareform((D + D.T) / 2, checks=False), method="complete")
    colours = group_colours(groups)
    leaves = link_leaves(Z, n)

    def link_colour(link):
        members = {groups[t] for t in leaves[link - n]}
        return colours[members.pop()] if len(members) == 1 else ACROSS_GROUPS

    width = max(4.0, 1.5 + 0.55 * n)
    fig, ax = plt.subplots(figsize=(width, 4.5))
    drawn = dendrogram(Z, labels=[wrap(t) for t in tasks], ax=ax, link_color_func=link_colour,
                       leaf_rotation=90, leaf_font_size=8)
    for label, task in zip(ax.get_xticklabels(), drawn["leaves"]):
        label.set_color(colours[groups[task]])
    handles = [plt.Line2D([], [], color=c, label=f"group {g}") for g, c in enumerate(colours)]
    ax.legend(handles=handles, fontsize=7, loc="upper right")
    ax.set_ylabel("1 - similarity (complete linkage)")
    fig.tight_layout()
    return fig, drawn


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("similarity")
    ap.add_argument("--out", required=True)
    ap.add_argument("--results", help="colour by this phase-2 results file's grouping")
    a = ap.parse_args()
    sim = read_similarity(a.similarity)
    tasks = sim["tasks"]
    groups = sim["groups"]
    if a.results:
        run = read_results(a.results)
        if run["tasks"] != tasks or run["groups"] is None:
            sys.exit(f"{a.results}: no grouping of the tasks {tasks} of {a.similarity}")
        groups = run["groups"]
    if groups is None:
        groups = np.zeros(len(tasks), dtype=int)  # no grouping stored: one colour
    os.makedirs(a.out, exist_ok=True)
    for k, step in enumerate(sim["steps"]):
        heatmap(sim["cosine"][k], tasks, f"gradient cosine, step {step}",
                os.path.join(a.out, f"similarity_snapshot_{k}.png"))
    heatmap(sim["average"], tasks, f"average over {len(sim['steps'])} snapshots",
            os.path.join(a.out, "similarity_average.png"))
    if len(tasks) >= 2:
        fig, _ = dendrogram_figure(sim["average"], tasks, groups)
        fig.savefig(os.path.join(a.out, "dendrogram.png"), dpi=100)
        plt.close(fig)
    print(f"{len(sim['steps'])} snapshots of {len(tasks)} tasks -> {a.out}")


if __name__ == "__main__":
    main()
