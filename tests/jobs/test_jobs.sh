#!/usr/bin/env bash
# The Slurm scripts, run by bash with a stand-in `srun` (mpirun on 2 ranks):
#  - jobs/pipeline.sbatch: USR1 to the batch shell (what --signal=B:USR1 does) reaches the ranks,
#    which checkpoint and stop; resubmitting the same command resumes and finishes;
#  - jobs/sweep_threshold.sbatch: an array task regroups the similarity file with its tau and
#    trains phase 2 with that grouping, in a directory keyed on the configuration and similarity
#    file (another configuration does not resume it; the same one does);
#  - analysis/sweep_table.py on the sweep's results (one row per tau, mean and sd over seeds,
#    refusal of runs differing in other keys) and results_table.py keeping the taus apart.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
. "$CLIPMTL_SRCDIR/tests/jobs/jobs_common.sh"
make_config "$tmp/run.yaml"
mkdir -p "$tmp/bin"
cat >"$tmp/bin/srun" <<SH
#!/usr/bin/env bash
while [[ \$1 == --* ]]; do shift; done   # srun's own options
exec mpirun --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS "\$@"
SH
chmod +x "$tmp/bin/srun"
# Not a Slurm job here, even when the tests run inside one: nothing to requeue.
unset SLURM_JOB_ID SLURM_ARRAY_TASK_ID
export PATH=$tmp/bin:$PATH CLIPMTL=$bin OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$tmp"

bash "$CLIPMTL_SRCDIR/jobs/pipeline.sbatch" run.yaml --set optim.steps=100000 --set run.checkpoint_every=100000 \
    >"$tmp/job1.txt" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "^phase2 step 4/" "$tmp/job1.txt" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$job"
status=0
wait "$job" || status=$?
[ "$status" = "$stopped_status" ] || { cat "$tmp/job1.txt"; echo "the signalled job exited $status, not $stopped_status"; exit 1; }
grep -q "pipeline: forwarding USR1 to the ranks" "$tmp/job1.txt"
stopped=$(sed -n 's/.*phase2: stopped by a signal at step \([0-9]*\).*/\1/p' "$tmp/job1.txt" | head -1)
[ -n "$stopped" ] || { cat "$tmp/job1.txt"; exit 1; }
echo "pipeline.sbatch: USR1 stopped phase 2 at step $stopped"
bash "$CLIPMTL_SRCDIR/jobs/pipeline.sbatch" run.yaml --set optim.steps=$((stopped + 2)) $allow_change \
    --set run.checkpoint_every=100000 >"$tmp/job2.txt" 2>&1
grep -q "phase 1: reusing" "$tmp/job2.txt"
grep -q "phase2: resumed from .*ckpt-$stopped.h5" "$tmp/job2.txt"
grep -q "^average" "$tmp/job2.txt"
echo "pipeline.sbatch: resubmitted, resumed and finished"

similarity=$tmp/runs/t/similarity.h5
# Two array tasks in the form the script's header recommends (--export=ALL,TAUS=...).
grep -q -- '--export=ALL,TAUS=' "$CLIPMTL_SRCDIR/jobs/sweep_threshold.sbatch"
sweep() {  # sweep ARRAY_INDEX CONFIG LOG: one array task of a sweep over the taus -1 and 0.99
    SLURM_ARRAY_TASK_ID=$1 TAUS="-1 0.99" bash "$CLIPMTL_SRCDIR/jobs/sweep_threshold.sbatch" "$2" "$similarity" \
        >"$3" 2>&1 || { cat "$3"; exit 1; }
    sed -n 's/^sweep: .* -> //p' "$3"
}
# The sweep's configuration groups with the partition rule, like experiments/office_home.yaml:
# the script's --set grouping.rule=threshold makes its tau count.
sed 's/rule: threshold, tau: 0.0/rule: partition/' run.yaml >sweep.yaml
grep -q "rule: partition" sweep.yaml
low=$(sweep 0 sweep.yaml sweep0.txt)
high=$(sweep 1 sweep.yaml sweep1.txt)
[[ $low == sweep/*/tau_-1 && $high == sweep/*/tau_0.99 && ${low%/*} == "${high%/*}" ]] || { echo "sweep dirs $low $high"; exit 1; }
# tau -1: every pair is more similar, one group; tau 0.99: no pair is, every task its own group.
grep -q "1 group" "$low/groups.txt"
grep -q "3 groups" "$high/groups.txt"
"$PYTHON3" - "$low/t/results.h5" "$high/t/results.h5" <<'PY'
import sys, h5py
for path, want in zip(sys.argv[1:], ([0, 0, 0], [0, 1, 2])):
    g = h5py.File(path, "r")["group_of_task"][()]
    assert sorted(g.tolist()) == want, (path, g)
print("sweep tasks: 1 group at tau -1, 3 singleton groups at tau 0.99, results written")
PY

# A sweep over another configuration (here another seed) keeps out of this one's directories
# instead of resuming its checkpoints; the same inputs resume into the same directory.
sed 's/seed: 3/seed: 4/' sweep.yaml >other.yaml
other=$(sweep 1 other.yaml sweep_other.txt)
[ "${other%/*}" != "${high%/*}" ] || { echo "another config resumed into $other"; exit 1; }
! grep -q "resumed from" sweep_other.txt || { cat sweep_other.txt; echo "another config resumed"; exit 1; }
[ "$(sweep 1 sweep.yaml sweep1_again.txt)" = "$high" ]
grep -q "phase2: resumed from $high/" sweep1_again.txt || { cat sweep1_again.txt; exit 1; }
echo "sweep: the directory follows the inputs (${high%/*} vs ${other%/*})"

# The sweep's table and plot: one row per tau with that run's numbers; results_table keeps the
# thresholds apart instead of averaging them as seeds.
# A third seed at tau 0.99, made from seed 4's results with other accuracies, so that the
# standard deviation is not zero by chance.
"$PYTHON3" - "$other/t/results.h5" seed5.h5 <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f["accuracy"][:] = f["accuracy"][()] + [10.0, 0.0, -5.0]
    f["average_accuracy"][0] = f["accuracy"][()].mean()
    config = f["config"][()].decode().replace("  seed: 4\n", "  seed: 5\n")
    assert "seed: 5" in config
    del f["config"]
    f["config"] = config.encode()
PY
"$PYTHON3" "$CLIPMTL_SRCDIR/analysis/sweep_table.py" "$low/t/results.h5" "$high/t/results.h5" "$other/t/results.h5" \
    seed5.h5 --out plots | tee sweep.md
[ -s plots/accuracy_vs_tau.png ] || { echo "no plots/accuracy_vs_tau.png"; exit 1; }
"$PYTHON3" - "$low/t/results.h5" "$high/t/results.h5" "$other/t/results.h5" seed5.h5 plots/sweep.csv <<'PY'
import csv, sys, h5py, numpy as np
low, *high = (h5py.File(p, "r") for p in sys.argv[1:5])
rows = list(csv.DictReader(open(sys.argv[5])))
assert [r["tau"] for r in rows] == ["-1", "0.99"] and [r["groups"] for r in rows] == ["1", "3"], rows
assert [r["seeds"] for r in rows] == ["1", "3"], rows
tasks = low.attrs["tasks"].decode().split("\n")
# tau -1: one run; tau 0.99: the mean and sample standard deviation of seeds 3, 4 and 5.
for row, files in zip(rows, ([low], high)):
    acc = np.array([f["accuracy"][()] for f in files])
    avg = np.array([f["average_accuracy"][0] for f in files])
    sd = lambda x: x.std(axis=0, ddof=1) if len(files) > 1 else 0 * x[0]
    for t, name in enumerate(tasks):
        assert abs(float(row[name]) - acc[:, t].mean()) <= 1e-4, (name, row, acc)
        assert abs(float(row[name + " sd"]) - sd(acc)[t]) <= 1e-4, (name, row, acc)
    assert abs(float(row["average"]) - avg.mean()) <= 1e-4 and abs(float(row["average sd"]) - sd(avg)) <= 1e-4, row
assert float(rows[1][tasks[0] + " sd"]) > 1, rows[1]
print("sweep_table: each row holds its runs' mean and sd (within 1e-4)")
PY
# The dendrogram coloured by the grouping a sweep task trained with (3 singletons at tau 0.99).
"$PYTHON3" "$CLIPMTL_SRCDIR/analysis/plot_similarity.py" "$similarity" --results "$high/t/results.h5" --out plots
[ -s plots/dendrogram.png ] || { echo "no plots/dendrogram.png"; exit 1; }
"$PYTHON3" "$CLIPMTL_SRCDIR/analysis/results_table.py" "$low/t/results.h5" "$high/t/results.h5" | tee table.md
grep -q "| mmap | grouped | grouping.tau=-1 | 1 |" table.md
grep -q "| mmap | grouped | grouping.tau=0.99 | 1 |" table.md
# A run that differs in anything but tau and the seed is refused, naming the key.
cp "$high/t/results.h5" lr.h5
"$PYTHON3" - lr.h5 <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    config = f["config"][()].decode().replace("  lr: 0.01\n", "  lr: 0.02\n")
    assert "lr: 0.02" in config
    del f["config"]
    f["config"] = config.encode()
PY
if "$PYTHON3" "$CLIPMTL_SRCDIR/analysis/sweep_table.py" "$high/t/results.h5" lr.h5 --out plots 2>refused.txt; then
    echo "sweep_table accepted runs of another learning rate"; exit 1
fi
grep "lr.h5: optim.lr is 0.02 but 0.01" refused.txt
