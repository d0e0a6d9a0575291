#!/usr/bin/env python3
"""Results table over runs: per method/mode, mean and standard deviation over seeds of each
task's accuracy and of the average, with the trainable parameters (count and % of CLIP) and,
for runs that measured it (train.zeroshot_baseline), the average's gain over zero-shot.

usage: results_table.py RESULTS.h5... [--csv OUT.csv]
Prints a Markdown table. Runs whose configurations differ only in the seed (and the run's name
and output directory) are seeds of one row; runs that differ in anything else (a threshold sweep:
grouping.tau) get a row each, with a `setting` column naming the keys that differ. For accuracy
against the threshold, use sweep_table.py."""
import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clipmtl_files import read_results

# Keys that name or place a run, or that its method/mode columns already show.
NOT_A_SETTING = {"run.seed", "run.name", "run.out_dir", "method.name", "multitask.mode", "train.zeroshot_baseline"}


def varying_keys(runs):
    keys = sorted(set().union(*(r["config"] for r in runs)) - NOT_A_SETTING)
    return [k for k in keys if len({r["config"].get(k) for r in runs}) > 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--csv")
    a = ap.parse_args()
    runs = [read_results(p) for p in a.results]
    tasks = runs[0]["tasks"]
    for p, r in zip(a.results, runs):
        if r["tasks"] != tasks:
            sys.exit(f"{p}: tasks {r['tasks']} differ from {a.results[0]}'s {tasks}")
    varying = varying_keys(runs)
    by = collections.OrderedDict()
    for r in runs:
        setting = " ".join(f"{k}={r['config'].get(k, '-')}" for k in varying)
        by.setdefault((r["method"], r["mode"], setting), []).append(r)
    header = ["method", "mode"] + (["setting"] if varying else []) + ["seeds"] + tasks + \
        ["average", "vs zero-shot", "trainable", "% of CLIP"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    csv = [",".join(header)]
    for (method, mode, setting), rs in by.items():
        acc = np.array([r["accuracy"] for r in rs])
        avg = np.array([r["average"] for r in rs])
        fmt = lambda m, s: f"{m:.2f} ± {s:.2f}" if len(rs) > 1 else f"{m:.2f}"
        cells = [fmt(acc[:, t].mean(), acc[:, t].std(ddof=1) if len(rs) > 1 else 0) for t in range(len(tasks))]
        cells.append(fmt(avg.mean(), avg.std(ddof=1) if len(rs) > 1 else 0))
        # mean over seeds of each run's average minus its zero-shot average; "-" unless all measured it
        gains = [r["average"] - r["zeroshot"].mean() for r in rs if r["zeroshot"] is not None]
        cells.append(f"{np.mean(gains):+.2f}" if len(gains) == len(rs) else "-")
        pct = 100.0 * rs[0]["trainable"] / rs[0]["clip"] if rs[0]["clip"] else float("nan")
        row = [method, mode] + ([setting] if varying else []) + [str(len(rs))] + cells + \
            [str(rs[0]["trainable"]), f"{pct:.3f}"]
        lines.append("| " + " | ".join(row) + " |")
        csv.append(",".join('"' + c.replace('"', '""') + '"' for c in row))
    print("\n".join(lines))
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("\n".join(csv) + "\n")


if __name__ == "__main__":
    main()
