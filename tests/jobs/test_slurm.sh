#!/usr/bin/env bash
# The Slurm scripts under a real Slurm (Debian slurm-wlm, munge): a private single-node cluster on
# localhost, started as root with every file, socket and port of its own in a temporary directory,
# torn down at the end. Skipped (77) when it cannot start (not root, no Slurm, daemons failing).
#  - jobs/pipeline.sbatch, submitted from a directory holding build/ (sbatch runs a spooled copy
#    of the script, so only $SLURM_SUBMIT_DIR leads to the program): the cluster's MpiDefault is
#    pmi2, with which Debian's Open MPI cannot start, so the ranks start only through the script's
#    --mpi=pmix. USR1 to the batch shell (what --signal=B:USR1@120 does near the time limit)
#    makes the ranks checkpoint and stop; the script requeues the job, which resumes and completes.
#  - the same script with CLIPMTL_COMMAND=pretrain: a pretraining paused in one job (stop_after)
#    and finished by a second ends with the model of an uninterrupted run;
#  - jobs/sweep_threshold.sbatch as an array of 2 with --export=ALL,TAUS=..., the program found
#    on PATH: each task regroups with its tau and trains; both complete.
set -euo pipefail
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "a private slurmd must run as root to start jobs"
for program in munged slurmctld slurmd sbatch scontrol squeue scancel sinfo; do
    command -v "$program" >/dev/null || skip "$program is not installed (Debian: slurm-wlm munge)"
done
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
unset CLIPMTL CLIPMTL_SRUN_MPI CLIPMTL_STOPPED_STATUS
. "$CLIPMTL_SRCDIR/tests/jobs/jobs_common.sh"

# munged insists that everyone may traverse to its socket.
chmod 755 "$tmp"
slurm=$tmp/slurm
mkdir -p "$slurm/munge" "$slurm/state" "$slurm/spool" "$slurm/log"
export SLURM_CONF=$slurm/slurm.conf
started=
teardown() {
    set +e
    if [ -n "$started" ]; then
        scancel --quiet --full $(squeue -h -o %A 2>/dev/null) 2>/dev/null || true
        for _ in $(seq 20); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
        scontrol shutdown >/dev/null 2>&1 || true
        for pidfile in "$slurm/slurmd.pid" "$slurm/slurmctld.pid"; do
            pid=$(cat "$pidfile" 2>/dev/null) || continue
            for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || continue 2; sleep 0.5; done
            kill -9 "$pid"
        done
    fi
    [ -S "$slurm/munge/socket" ] && munged --stop --socket="$slurm/munge/socket" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap teardown EXIT
cannot_start() {
    for log in "$slurm"/log/* "$slurm"/munge/log; do [ -f "$log" ] && { echo "== $log"; tail -n 20 "$log"; }; done
    skip "$*"
}

head -c 1024 /dev/urandom >"$slurm/munge/key"
chmod 600 "$slurm/munge/key"
munged --socket="$slurm/munge/socket" --key-file="$slurm/munge/key" --pid-file="$slurm/munge/pid" \
    --log-file="$slurm/munge/log" --seed-file="$slurm/munge/seed" || cannot_start "munged did not start"
node=$(slurmd -C | head -n 1) || cannot_start "slurmd -C cannot describe this node"
read -r ctld_port slurmd_port < <("$PYTHON3" -c '
import socket
ports = [socket.socket() for _ in range(2)]
for p in ports: p.bind(("127.0.0.1", 0))
print(*[p.getsockname()[1] for p in ports])')
cat >"$SLURM_CONF" <<CONF
ClusterName=clipmtltest
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$slurm/munge/socket
StateSaveLocation=$slurm/state
SlurmdSpoolDir=$slurm/spool
SlurmctldPidFile=$slurm/slurmctld.pid
SlurmdPidFile=$slurm/slurmd.pid
SlurmctldLogFile=$slurm/log/slurmctld.log
SlurmdLogFile=$slurm/log/slurmd.log
PlugStackConfig=$slurm/plugstack.conf
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=pmi2
ReturnToService=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
: >"$slurm/plugstack.conf"
# The PMIx plugin's per-step directories are named by uid and job id, and this cluster numbers its
# jobs from 1 again: under /tmp, one left by an earlier run (a killed test) fails the step.
mkdir -p "$slurm/pmix"
echo "PMIxCliTmpDirBase=$slurm/pmix" >"$slurm/mpi.conf"
started=yes
slurmctld || cannot_start "slurmctld did not start"
slurmd || cannot_start "slurmd did not start"
for _ in $(seq 60); do [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break; sleep 0.5; done
[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] || cannot_start "the node did not become idle: $(sinfo 2>&1)"
echo "slurm: private cluster up after ${SECONDS} s (${node%% *}, ports $ctld_port/$slurmd_port)"

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds, or fail naming WHAT.
wait_for() {
    local end=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || { echo "timed out waiting for $what"; show_logs; exit 1; }
        sleep 0.3
    done
}
show_logs() {
    for f in "$tmp"/submit/*.out; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done
    scontrol show job 2>&1 | grep -E "JobId|JobState|ExitCode|Restarts" || true
    for f in "$slurm"/log/*; do echo "== $f"; tail -n 40 "$f"; done
}
job_field() { scontrol show job "$1" | grep -o "$2=[^ ]*" | cut -d= -f2; }
job_ended() { [ -z "$(squeue -h -j "$1" 2>/dev/null)" ]; }
job_requeued() { [ "$(job_field "$1" Restarts)" = 1 ] && [ "$(squeue -h -j "$1" -o %T)" = PENDING ]; }
# The PMIx socket of a job's step lives until its slurmstepd has cleaned up; a requeued job reuses
# the job and step ids, and its step cannot start while the old socket is there (seen once:
# "Cannot bind() UNIX socket .../stepd.slurm.pmix.1.0: Address already in use").
steps_cleaned() { ! compgen -G "$slurm/spool/stepd.slurm.pmix.$1.*" >/dev/null; }
in_log() { grep -q "$2" "$tmp/submit/$1" 2>/dev/null; }

mkdir -p "$tmp/submit"
cd "$tmp/submit"
make_config run.yaml
ln -s "$CLIPMTL_BUILDDIR" build
# Phase 2 runs until the signal (100000 steps). The requeued job reads run.yaml again: by then it
# asks for a few steps more than the checkpoint, so that the resumed run ends soon (a change that
# resuming accepts only with --allow-config-change, where the program has it).
sed -i 's/steps: 8}/steps: 100000}/' run.yaml
id=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 --export=ALL,CLIPMTL_STOPPED_STATUS=$stopped_status \
    "$CLIPMTL_SRCDIR/jobs/pipeline.sbatch" run.yaml --set run.checkpoint_every=100000 $allow_change)
wait_for 60 "phase 2 of job $id" in_log "clipmtl-$id.out" "^phase2 step 4/"
scancel --batch --signal=USR1 "$id"
wait_for 30 "job $id to requeue itself" job_requeued "$id"
log=clipmtl-$id.out
stopped=$(sed -n 's/.*stopped by a signal at step \([0-9]*\).*/\1/p' "$log" | head -n 1)
[ -n "$stopped" ] || { show_logs; echo "job $id: no stop on the signal"; exit 1; }
sed -i "s/steps: 100000}/steps: $((stopped + 4))}/" run.yaml
# A requeued job waits two minutes before it may start again: let it start now, though not in the
# second of the requeue (slurmd would refuse it: "Job credential revoked").
sleep 2
wait_for 30 "the stopped steps of job $id to clean up" steps_cleaned "$id"
scontrol update JobId="$id" StartTime=now
wait_for 60 "job $id to end" job_ended "$id"
state=$(job_field "$id" JobState) exit_code=$(job_field "$id" ExitCode)
[ "$state" = COMPLETED ] && [ "$exit_code" = 0:0 ] || { show_logs; echo "job $id: $state $exit_code"; exit 1; }
for line in "pipeline: forwarding USR1 to the ranks" "requeueing job $id" "phase 1: reusing" \
    "phase2: resumed from .*ckpt-$stopped.h5" "^average"; do
    grep -q "$line" "$log" || { show_logs; echo "job $id: no \"$line\""; exit 1; }
done
[ -f "$tmp/runs/t/results.h5" ]
echo "pipeline.sbatch: ranks started with --mpi=pmix under MpiDefault=pmi2; USR1 stopped phase 2 at step $stopped; requeued, resumed, completed (${SECONDS} s)"

# CLIPMTL_COMMAND=pretrain: a pretraining paused by pretrain.stop_after in one job and finished
# by a second submission of the same script ends with the model of one uninterrupted mpirun run.
if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    cat >pretrain.yaml <<YAML
run: {name: p, seed: 4, out_dir: "$tmp/runs", log_every: 1, checkpoint_every: 100}
model: {preset: tiny, init_seed: 2}
data: {kind: fashion_mnist, image_size: 32, pretrain_images: [0, 600]}
method: {name: zeroshot}
multitask: {mode: single}
pretrain: {steps: 12, batch_size: 12, lr: 0.002, warmup_steps: 3, eval_every: 0}
YAML
    submit_pretrain() {
        sbatch --parsable --ntasks=2 --cpus-per-task=1 --export=ALL,CLIPMTL_COMMAND=pretrain \
            "$CLIPMTL_SRCDIR/jobs/pipeline.sbatch" pretrain.yaml "$@"
    }
    first=$(submit_pretrain --set pretrain.stop_after=5)
    wait_for 60 "pretraining job $first to end" job_ended "$first"
    second=$(submit_pretrain)
    wait_for 60 "pretraining job $second to end" job_ended "$second"
    for id in $first $second; do
        [ "$(job_field "$id" JobState)" = COMPLETED ] || { show_logs; echo "job $id: $(job_field "$id" JobState)"; exit 1; }
    done
    grep -q "paused after step 5 of 12" "clipmtl-$first.out" || { show_logs; exit 1; }
    grep -q "resumed from .*ckpt-5.h5 at step 5" "clipmtl-$second.out" || { show_logs; exit 1; }
    mpi 2 "$bin" pretrain pretrain.yaml --set run.name=whole >/dev/null
    cmp "$tmp/runs/p/model.safetensors" "$tmp/runs/whole/model.safetensors"
    echo "pipeline.sbatch with CLIPMTL_COMMAND=pretrain: paused at step 5, resumed by a second job, the uninterrupted model bit for bit (${SECONDS} s)"
else
    echo "pretraining job not tried: dataset-fashion-mnist is not installed"
fi

# The sweep finds the program on PATH (no build/ in the submission directory); one rank per
# array task, so that both tasks run at once on the two cores.
rm build
id=$(PATH=$CLIPMTL_BUILDDIR:$PATH sbatch --parsable --array=0-1 --ntasks=1 --cpus-per-task=1 \
    --export=ALL,TAUS="-1 0.99" "$CLIPMTL_SRCDIR/jobs/sweep_threshold.sbatch" run.yaml "$tmp/runs/t/similarity.h5")
wait_for 60 "array job $id to end" job_ended "$id"
states=$(scontrol show job "$id" | grep -o "JobState=[A-Z]*" | sort | uniq -c | tr -s ' ')
codes=$(scontrol show job "$id" | grep -o " ExitCode=[0-9:]*" | sort -u | tr -d ' ')
[ "$states" = " 2 JobState=COMPLETED" ] && [ "$codes" = ExitCode=0:0 ] || { show_logs; echo "sweep $id: $states $codes"; exit 1; }
"$PYTHON3" - sweep/*/tau_-1/t/results.h5 sweep/*/tau_0.99/t/results.h5 <<'PY'
import sys, h5py
assert len(sys.argv) == 3, sys.argv
for path, want in zip(sys.argv[1:], ([0, 0, 0], [0, 1, 2])):
    g = h5py.File(path, "r")["group_of_task"][()]
    assert sorted(g.tolist()) == want, (path, g)
PY
echo "sweep_threshold.sbatch: array tasks tau -1 (1 group) and 0.99 (3 groups) completed (${SECONDS} s)"
