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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = [read_results(p) for p in a.results]
    check_sweep(a.results, runs)
    tasks = runs[0]["tasks"]
    by_tau = {}
    for p, r in zip(a.results, runs):
        tau = float(r["config"]["grouping.tau"])
        same = by_tau.setdefault(tau, [])
        if same and not np.array_equal(same[0][1]["groups"], r["groups"]):
            sys.exit(f"{p}: tau {tau} grouped the tasks differently from {same[0][0]}")
        same.append((p, r))
    taus = sorted(by_tau)
    header = ["tau", "groups", "grouping", "seeds"] + tasks + ["average"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    csv = [",".join(header + [f"{t} sd" for t in tasks] + ["average sd"])]
    mean_acc, sd_acc, mean_avg, sd_avg, n_groups = [], [], [], [], []
    for tau in taus:
        rs = [r for _, r in by_tau[tau]]
        acc = np.array([r["accuracy"] for r in rs])
        avg = np.array([r["average"] for r in rs])
        sd = lambda x: x.std(axis=0, ddof=1) if len(rs) > 1 else np.zeros_like(x[0])
        mean_acc.append(acc.mean(axis=0)), sd_acc.append(sd(acc))
        mean_avg.append(avg.mean()), sd_avg.append(float(sd(avg)))
        groups = rs[0]["groups"]
        n_groups.append(groups.max() + 1)
        fmt = lambda m, s: f"{m:.2f} ± {s:.2f}" if len(rs) > 1 else f"{m:.2f}"
        cells = [fmt(m, s) for m, s in zip(mean_acc[-1], sd_acc[-1])] + [fmt(mean_avg[-1], sd_avg[-1])]
        lines.append("| " + " | ".join([f"{tau:g}", str(n_groups[-1]), describe(groups, tasks), str(len(rs))] + cells) + " |")
        numbers = list(mean_acc[-1]) + [mean_avg[-1]] + list(sd_acc[-1]) + [sd_avg[-1]]
        csv.append(",".join([f"{tau:g}", str(n_groups[-1]), '"' + describe(groups, tasks) + '"', str(len(rs))] +
                            [f"{x:.6g}" for x in numbers]))
    print("\n".join(lines))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "sweep.csv"), "w") as f:
        f.write("\n".join(csv) + "\n")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    mean_acc = np.array(mean_acc)
    for t, name in enumerate(tasks):
        ax.plot(taus, mean_acc[:, t], marker=".", linewidth=0.8, alpha=0.6, label=name)
    ax.errorbar(taus, mean_avg, yerr=sd_avg, color="black", marker="o", linewidth=2, capsize=3, label="average")
    ax.set_xlabel("threshold tau")
    ax.set_ylabel("top-1 test accuracy (%)")
    groups_ax = ax.twinx()
    # Markers only at the swept taus: where between them the count changes is not known here.
    groups_ax.plot(taus, n_groups, "s", color="grey", markersize=5, label="groups")
    groups_ax.set_ylabel("groups (grey squares)", color="grey")
    groups_ax.set_ylim(0, len(tasks) + 0.5)
    groups_ax.set_yticks(range(len(tasks) + 1))
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "accuracy_vs_tau.png"), dpi=100)
    plt.close(fig)
    print(f"{len(runs)} runs, {len(taus)} thresholds -> {a.out}/sweep.csv, {a.out}/accuracy_vs_tau.png")


if __name__ == "__main__":
    main()
