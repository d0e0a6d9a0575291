#!/usr/bin/env python3
"""Accuracy against the grouping threshold over the runs of a threshold sweep
(jobs/sweep_threshold.sbatch): one row per tau with the grouping it gave and each task's and the
average accuracy (mean ± standard deviation when several seeds ran that tau).

usage: sweep_table.py RESULTS.h5... --out DIR
Prints a Markdown table and writes DIR/sweep.csv and DIR/accuracy_vs_tau.png. The runs must be
grouped phase-2 runs of the threshold rule whose configurations differ only in grouping.tau and
the seed (and the run's name and output directory); anything else differing is refused, naming
the key, because its effect would be read as the threshold's."""
import argparse
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clipmtl_files import read_results

MAY_DIFFER = {"grouping.tau", "run.seed", "run.name", "run.out_dir"}


def check_sweep(paths, runs):
    first = runs[0]
    for p, r in zip(paths, runs):
        if r["tasks"] != first["tasks"]:
            sys.exit(f"{p}: tasks {r['tasks']} differ from {paths[0]}'s {first['tasks']}")
        if r["mode"] != "grouped" or r["config"].get("grouping.rule") != "threshold" or r["groups"] is None:
            sys.exit(f"{p}: not a grouped run of the threshold rule (mode {r['mode']}, "
                     f"grouping.rule {r['config'].get('grouping.rule')})")
        for key in sorted((set(r["config"]) | set(first["config"])) - MAY_DIFFER):
            if r["config"].get(key) != first["config"].get(key):
                sys.exit(f"{p}: {key} is {r['config'].get(key)} but {first['config'].get(key)} in "
                         f"{paths[0]}; a sweep varies only grouping.tau and the seed")


def describe(groups, tasks):
    return "; ".join("+".join(tasks[i] for i in np.flatnonzero(groups == g)) for g in range(groups.max() + 1))


def per_tau(paths, runs):
    """One row per tau, in increasing order: (tau, grouping, seeds, mean and sd over the seeds of
    each task's accuracy followed by the average accuracy)."""
    by_tau = {}
    for p, r in zip(paths, runs):
        tau = float(r["config"]["grouping.tau"])
        same = by_tau.setdefault(tau, [])
        if same and not np.array_equal(same[0][1]["groups"], r["groups"]):
            sys.exit(f"{p}: tau {tau} grouped the tasks differently from {same[0][0]}")
        same.append((p, r))
    rows = []
    for tau in sorted(by_tau):
        rs = [r for _, r in by_tau[tau]]
        acc = np.array([list(r["accuracy"]) + [r["average"]] for r in rs])
        sd = acc.std(axis=0, ddof=1) if len(rs) > 1 else np.zeros(acc.shape[1])
        rows.append((tau, rs[0]["groups"], len(rs), acc.mean(axis=0), sd))
    return rows


def plot(rows, tasks, path):
    taus = [row[0] for row in rows]
    mean = np.array([row[3] for row in rows])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for t, name in enumerate(tasks):
        ax.plot(taus, mean[:, t], marker=".", linewidth=0.8, alpha=0.6, label=name)
    ax.errorbar(taus, mean[:, -1], yerr=[row[4][-1] for row in rows], color="black", marker="o",
                linewidth=2, capsize=3, label="average")
    ax.set_xlabel("threshold tau")
    ax.set_ylabel("top-1 test accuracy (%)")
    groups_ax = ax.twinx()
    # Markers only at the swept taus: where between them the count changes is not known here.
    groups_ax.plot(taus, [row[1].max() + 1 for row in rows], "s", color="grey", markersize=5)
    groups_ax.set_ylabel("groups (grey squares)", color="grey")
    groups_ax.set_ylim(0, len(tasks) + 0.5)
    groups_ax.set_yticks(range(len(tasks) + 1))
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = [read_results(p) for p in a.results]
    check_sweep(a.results, runs)
    tasks = runs[0]["tasks"]
    rows = per_tau(a.results, runs)
    header = ["tau", "groups", "grouping", "seeds"] + tasks + ["average"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    csv = [",".join(header + [f"{t} sd" for t in tasks] + ["average sd"])]
    for tau, groups, seeds, mean, sd in rows:
        first = [f"{tau:g}", str(groups.max() + 1), describe(groups, tasks), str(seeds)]
        cells = [f"{m:.2f} ± {s:.2f}" if seeds > 1 else f"{m:.2f}" for m, s in zip(mean, sd)]
        table.append("| " + " | ".join(first + cells) + " |")
        first[2] = '"' + first[2] + '"'
        csv.append(",".join(first + [f"{x:.6g}" for x in list(mean) + list(sd)]))
    print("\n".join(table))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "sweep.csv"), "w") as f:
        f.write("\n".join(csv) + "\n")
    plot(rows, tasks, os.path.join(a.out, "accuracy_vs_tau.png"))
    print(f"{len(runs)} runs, {len(rows)} thresholds -> {a.out}/sweep.csv, {a.out}/accuracy_vs_tau.png")


if __name__ == "__main__":
    main()
