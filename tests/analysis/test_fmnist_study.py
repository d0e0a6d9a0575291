"""analysis/fmnist_study.py on a made-up study folder whose numbers are known: the table's mean,
sd and paired gain over zero-shot; the learning rate chosen on the validation window (the best
average, the smaller rate on a tie, as run_fmnist_study.sh chooses it); an acceptance check
that passes, one that fails and one whose runs are missing; the transfer gap with the sd of its
per-seed differences, and at each domain's best rate of the grid (coop has no random-weight
grid, so no row); the sharing lines of both MmAP sizes; the threshold sweep's mean and sd
per tau over seeds, a linked repeat included."""
import csv
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TASKS = ["original", "inverted", "rotated", "sketch", "tinted"]
script = os.path.join(os.environ["CLIPMTL_SRCDIR"], "analysis", "fmnist_study.py")
study = tempfile.mkdtemp()
manifest = ["name\tmodel\tvariant\tseed\tcommand"]


def result(name, model, variant, seed, accuracy, group_of_task=None):
    os.makedirs(os.path.join(study, name))
    with h5py.File(os.path.join(study, name, "results.h5"), "w") as f:
        f.attrs["tasks"] = "\n".join(TASKS)
        f.attrs["method"], f.attrs["mode"], f.attrs["seed"] = "mmap", "single", seed
        if group_of_task is not None:
            f["group_of_task"] = np.asarray(group_of_task, dtype=np.int32)
        f["accuracy"] = np.asarray(accuracy, dtype=float)
        f["average_accuracy"] = [float(np.mean(accuracy))]
        f["trainable_params"], f["clip_params"] = [10], [1000]
        f["config"] = b"run:\n  name: x\n"
    manifest.append(f"{name}\t{model}\t{variant}\t{seed}\ttrain")


zeroshot = np.array([80.0, 10, 5, 20, 15])
for seed in range(3):
    result(f"zs{seed}", "pretrained", "zeroshot", seed, zeroshot)
    # MmAP: zero-shot + 12 on the shifted domains, + seed on every domain
    result(f"mmap{seed}", "pretrained", "mmap", seed, zeroshot + np.array([0, 12, 12, 12, 12]) + seed)
    # CoOp gains only 3 on inverted (its check, >= 5 on three domains, passes) and loses 2 on
    # the original domain (more than the 1.5 allowed)
    result(f"coop{seed}", "pretrained", "coop", seed, zeroshot + np.array([-2, 3, 6, 6, 6]))
    # MmAP on the random-weight model: per-seed gaps to the pretrained one 10+2s, 4, 6-s, 8 on the
    # shifted domains (mean 12, 4, 5, 8; sd 2, 0, 1, 0): rotated fails the >= 5
    result(f"rnd-mmap{seed}", "random", "mmap", seed,
           zeroshot + np.array([0, 12, 12, 12, 12]) + seed - np.array([0, 10 + 2 * seed, 4, 6 - seed, 8]))
    # sharing at b = m = 4: all-shared 5 below zero-shot + 12, grouped 2 above, no random grouping
    result(f"mmap4-shared{seed}", "pretrained", "mmap4-shared", seed, zeroshot + 7)
    result(f"mmap4{seed}", "pretrained", "mmap4", seed, zeroshot + 12)
    result(f"mmap4-grouped{seed}", "pretrained", "mmap4-grouped", seed, zeroshot + 14)
for lr, acc in ((0.01, 50.0), (0.05, 50.0), (0.002, 40.0)):  # a tie: the smaller rate
    result(f"val-mmap-{lr}", "pretrained", f"lr:mmap:{lr}", 0, [acc] * 5)
for lr, acc in ((0.01, 30.0), (0.05, 35.0)):
    result(f"val-coop-{lr}", "pretrained", f"lr:coop:{lr}", 0, [acc] * 5)
# The random-weight model's grid for MmAP: per domain its best over both rates (inverted 45,
# rotated 50, sketch 30, tinted 60) against the pretrained model's 50 on every domain.
for lr, acc in ((0.01, [0, 45, 20, 30, 60]), (0.05, [0, 30, 50, 30, 10])):
    result(f"val-rnd-mmap-{lr}", "random", f"lr:mmap:{lr}", 0, acc)
# Threshold sweep on two seeds: tau 0.5 repeats tau 0's grouping on seed 1, whose folder the driver
# links to tau 0's run; per tau the mean and sd over the seeds.
for seed, acc0, acc5, split in ((0, 40.0, 44.0, [0, 0, 1, 1, 2]), (1, 42.0, 42.0, None)):
    result(f"sweep0-s{seed}", "pretrained", "sweep:0", seed, [acc0] * 5, [0, 0, 1, 1, 1])
    if split:
        result(f"sweep5-s{seed}", "pretrained", "sweep:0.5", seed, [acc5] * 5, split)
    else:
        os.symlink(f"sweep0-s{seed}", os.path.join(study, f"sweep5-s{seed}"))
        manifest.append(f"sweep5-s{seed}\tpretrained\tsweep:0.5\t{seed}\ttrain")
with open(os.path.join(study, "manifest.tsv"), "w") as f:
    f.write("\n".join(manifest) + "\n")

out = os.path.join(study, "report")
subprocess.run([sys.executable, script, study, "--out", out], check=True, stdout=subprocess.DEVNULL)

rows = {(r["method"], r["domain"]): r for r in csv.DictReader(open(os.path.join(out, "results.csv")))}
mmap = rows[("MmAP per task", "inverted")]
assert float(mmap["mean"]) == 23.0 and float(mmap["sd"]) == 1.0 and mmap["seeds"] == "3", mmap
assert float(mmap["gain_vs_zeroshot_mean"]) == 13.0, mmap
assert float(rows[("MmAP per task", "average")]["mean"]) == float(np.mean(zeroshot)) + 9.6 + 1
assert "learning" not in " ".join(r["method"] for r in rows.values())  # validation runs stay out of the table

chosen = {(r["model"], r["method"], float(r["lr"])): r["chosen"]
          for r in csv.DictReader(open(os.path.join(out, "learning_rates.csv")))}
assert chosen == {("pretrained", "mmap", 0.002): "0", ("pretrained", "mmap", 0.01): "1",
                  ("pretrained", "mmap", 0.05): "0", ("pretrained", "coop", 0.01): "0",
                  ("pretrained", "coop", 0.05): "1", ("random", "mmap", 0.01): "1",
                  ("random", "mmap", 0.05): "0"}, chosen

summary = open(os.path.join(out, "summary.md")).read()
for line in ("PASS: per-task MmAP beats zero-shot by >= 10 points on each shifted domain",
             "PASS: CoOp beats zero-shot by >= 5 points on at least three shifted domains",
             "PASS: original domain: MmAP loses at most 4 points (+1.0)",
             "FAIL: original domain: CoOp within 1.5 points of zero-shot (-2.0)",
             "FAIL: transfer: pretrained beats random-weight by >= 5 points on each shifted domain (mmap per task) "
             "(inverted +12.0 ± 2.0, rotated +4.0 ± 0.0, sketch +5.0 ± 1.0, tinted +8.0 ± 0.0; ± the sd of the "
             "per-seed gap over 3 seeds)",
             "NOT RUN: transfer: pretrained beats random-weight by >= 5 points on each shifted domain (coop",
             "| pretrained | mmap | 40.0 | **50.0** | 50.0 | 0.01 |",
             "MmAP b = m = 2, average top-1: all-shared -, per task 36.6, grouped -, random groups -",
             "MmAP b = m = 4, average top-1: all-shared 33.0, per task 38.0, grouped 40.0, random groups -",
             "| 0 | 2 | 41.0 ± 1.4 | 2 / 2 |", "| 0.5 | 2 | 43.0 ± 1.4 | 3 / 2 |",
             "| 0.5 | 1 | 42.0 | 2 | original+inverted ; rotated+sketch+tinted |",
             "| mmap | 50.0 vs 45.0 (+5.0) | 50.0 vs 50.0 (+0.0) | 50.0 vs 30.0 (+20.0) | 50.0 vs 60.0 (-10.0) |"):
    assert line in summary, (line, summary)
assert not any(line.startswith("| coop |") for line in summary.splitlines()), summary
print("fmnist_study.py: table, learning rates and acceptance checks as computed by hand")
