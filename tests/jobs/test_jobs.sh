#!/usr/bin/env bash
# The Slurm scripts, run by bash with a stand-in `srun` (mpirun on 2 ranks):
#  - jobs/pipeline.sbatch: USR1 to the batch shell (what --signal=B:USR1 does) reaches the ranks,
#    which checkpoint and stop; resubmitting the same command resumes and finishes;
#  - jobs/sweep_threshold.sbatch: an array task regroups the similarity file with its tau and
#    trains phase 2 with that grouping.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
make_config "$tmp/run.yaml"
mkdir -p "$tmp/bin"
cat >"$tmp/bin/srun" <<SH
#!/usr/bin/env bash
while [[ \$1 == --* ]]; do shift; done   # srun's own options
exec mpirun --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS "\$@"
SH
chmod +x "$tmp/bin/srun"
export PATH=$tmp/bin:$PATH CLIPMTL=$bin OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$tmp"

bash "$CLIPMTL_SRCDIR/jobs/pipeline.sbatch" run.yaml --set optim.steps=100000 --set run.checkpoint_every=100000 \
    >"$tmp/job1.txt" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "^phase2 step 4/" "$tmp/job1.txt" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$job"
status=0
wait "$job" || status=$?
[ "$status" -ne 0 ] || { cat "$tmp/job1.txt"; echo "the signalled job exited 0"; exit 1; }
grep -q "pipeline: forwarding USR1 to the ranks" "$tmp/job1.txt"
stopped=$(sed -n 's/.*phase2: stopped by a signal at step \([0-9]*\).*/\1/p' "$tmp/job1.txt" | head -1)
[ -n "$stopped" ] || { cat "$tmp/job1.txt"; exit 1; }
echo "pipeline.sbatch: USR1 stopped phase 2 at step $stopped"
# (fewer steps than the stopped run's: a change of settings that --resume refuses without the flag)
bash "$CLIPMTL_SRCDIR/jobs/pipeline.sbatch" run.yaml --set optim.steps=$((stopped + 2)) \
    --set run.checkpoint_every=100000 --allow-config-change >"$tmp/job2.txt" 2>&1
grep -q "phase 1: reusing" "$tmp/job2.txt"
grep -q "phase2: resumed from .*ckpt-$stopped.h5" "$tmp/job2.txt"
grep -q "^average" "$tmp/job2.txt"
echo "pipeline.sbatch: resubmitted, resumed and finished"

similarity=$tmp/runs/t/similarity.h5
SLURM_ARRAY_TASK_ID=1 TAUS="-1 0.99" bash "$CLIPMTL_SRCDIR/jobs/sweep_threshold.sbatch" run.yaml "$similarity" \
    >"$tmp/sweep.txt" 2>&1 || { cat "$tmp/sweep.txt"; exit 1; }
# tau 0.99: no pair is that similar, so every task is its own group.
grep -q "3 groups" sweep/tau_0.99/groups.txt
[ -f sweep/tau_0.99/t/results.h5 ]
"$PYTHON3" -c "
import h5py; g = h5py.File('sweep/tau_0.99/t/results.h5', 'r')['group_of_task'][()]
assert sorted(g.tolist()) == [0, 1, 2], g; print('sweep task: 3 singleton groups, results written')"
