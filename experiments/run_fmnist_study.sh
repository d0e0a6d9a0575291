#!/usr/bin/env bash
# The Fashion-MNIST study end to end (README "The Fashion-MNIST study"):
#   experiments/run_fmnist_study.sh
# 1. the pretrained fmnist-small CLIP: experiments/pretrain_fmnist.yaml, pretrained first when
#    its checkpoint is missing; a random-weight model of the same shapes for the transfer control;
# 2. the learning rate of each method (per model for the transfer controls), chosen from a grid by
#    the average accuracy on a validation window of test images disjoint from the reported ones;
# 3. on experiments/fmnist_study.yaml, for each seed (run.seed = s, data.split_seed = s + 1: other
#    prompt initialisations, batches and 16-shot images):
#      zero-shot; MmAP and CoOp per task (multitask.mode single);
#      MmAP all-shared; MmAP grouped (phase 1 gradient grouping, then group + task prompts);
#      MmAP on a random grouping with the same group sizes (the control of the grouping);
#      the planted study: phase 1 on inverted, inverted2, rotated, rotated2, tinted, tinted2
#      with the default snapshot estimate;
#      the transfer control: zero-shot and MmAP per task on the random-weight model;
#    then for each seed CoOp on the random-weight model, MmAP per task in bf16 (where the CPU
#    has a bf16 path), the planted study with the one-batch estimate, VPT-deep, IVLP and MaPLe
#    per task, and on the random-weight model; MmAP per task with b = m = 4 and with n = 128, and
#    IVLP with one token per modality, on both models; MmAP at b = m = 4 all-shared, grouped and
#    on a random grouping;
#    CoOp, VPT-deep, IVLP and MaPLe grouped on MmAP's grouping;
#    then a threshold sweep: MmAP grouped by the threshold rule at several tau on the phase-1
#    similarity of the grouped runs (each distinct grouping trained once per seed);
#    last BitFit and CLIP-Adapter per task (they refuse grouped mode);
# 4. analysis/fmnist_study.py: the learning rates, the results table (Markdown, CSV, figure), accuracy vs threshold,
#    the planted heatmap and recovery, the acceptance checks -> $OUT/report/.
# A run whose output exists is not repeated, so an interrupted study continues where it stopped.
# Environment: CLIPMTL_RANKS (default 2), STUDY_SEEDS ("0 1 2"), STUDY_SWEEP_SEEDS (STUDY_SEEDS),
# STUDY_OUT (runs/fmnist_study), STUDY_SET (extra --set arguments for every run, e.g.
# "optim.steps=60"), STUDY_LR_GRID (the learning rates tried first, "0.002 0.005 0.01 0.02 0.05"),
# STUDY_PRETRAINED (the pretrained checkpoint,
# runs/pretrain-fmnist-small/model.safetensors), STUDY_PRETRAIN_SET (--set arguments of the
# pretraining, e.g. "pretrain.steps=500"), CLIPMTL_BIN (build/clipmtl).
set -euo pipefail
python=${PYTHON3:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${CLIPMTL_BIN:-$root/build/clipmtl}
np=${CLIPMTL_RANKS:-2}
seeds=${STUDY_SEEDS:-"0 1 2"}
sweep_seeds=${STUDY_SWEEP_SEEDS:-$seeds}
out=${STUDY_OUT:-runs/fmnist_study}
config=experiments/fmnist_study.yaml
pretrain_config=experiments/pretrain_fmnist.yaml
pretrained=${STUDY_PRETRAINED:-runs/pretrain-fmnist-small/model.safetensors}
random_model=$out/random_init.safetensors
mkdir -p "$out/logs"
manifest=$out/manifest.tsv
[ -f "$manifest" ] || printf 'name\tmodel\tvariant\tseed\tcommand\n' >"$manifest"

cores=$(nproc)
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(( cores / np > 0 ? cores / np : 1 ))}
mpi=(mpirun -np "$np")
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
[ "$np" -gt "$cores" ] && mpi+=(--oversubscribe)
mpi+=(-x OPENBLAS_NUM_THREADS)
# mpirun binds one or two ranks to one core each: a rank with more threads needs them unbound.
[ "$OPENBLAS_NUM_THREADS" -gt 1 ] && mpi+=(--bind-to none)

extra=()
for kv in ${STUDY_SET:-}; do extra+=(--set "$kv"); done

start=$(date +%s)
log() { echo "[$(date -u +%H:%M:%S) +$(( $(date +%s) - start ))s] $*"; }

# run NAME MODEL VARIANT SEED COMMAND [--set ...]: one clipmtl run unless its output exists.
run() {
    local name=$1 model=$2 variant=$3 seed=$4 command=$5
    shift 5
    local want=results.h5
    [ "$command" = group ] && want=similarity.h5
    if [ ! -f "$out/$name/$want" ]; then
        local weights=$pretrained
        [ "$model" = random ] && weights=$random_model
        log "$name ($command, $variant, $model model, seed $seed)"
        local t0=$(date +%s)
        "${mpi[@]}" "$bin" "$command" "$config" --set run.out_dir="$out" --set run.name="$name" \
            --set run.seed="$seed" --set data.split_seed=$(( seed + 1 )) --set model.weights="$weights" \
            "$@" "${extra[@]}" >"$out/logs/$name.log" 2>&1 || { log "FAILED: see $out/logs/$name.log"; return 1; }
        printf '%s\t%s\n' "$name" $(( $(date +%s) - t0 )) >>"$out/timing.tsv"
    fi
    grep -q "^$name	" "$manifest" || printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$model" "$variant" "$seed" "$command" >>"$manifest"
}

# Per-method settings on top of fmnist_study.yaml (MmAP).
method_args() {
    case $1 in
        zeroshot) echo "--set method.name=zeroshot --set optim.steps=1" ;;
        coop) echo "--set method.name=coop --set method.depth=1 --set method.n_ctx_text=4" ;;
        vpt) echo "--set method.name=vpt --set method.n_ctx_visual=4" ;;
        ivlp) echo "--set method.name=ivlp" ;;
        ivlp1) echo "--set method.name=ivlp --set method.n_ctx_text=1 --set method.n_ctx_visual=1" ;;
        maple) echo "--set method.name=maple" ;;
        bitfit) echo "--set method.name=bitfit" ;;
        adapter) echo "--set method.name=adapter" ;;
        mmap) echo "" ;;
        mmap4) echo "--set method.mmap.b=4 --set method.mmap.m=4" ;; # spec.md 3.4's b and m
        mmap-n128) echo "--set method.mmap.n=128" ;; # W_l, W_v 1 x 1: no tiling across the width
    esac
}

# The settings of METHOD on MODEL (pretrained | random): method_args and the learning rate chosen
# on the validation window (lr_of, section 2).
train_args() {
    method_args "$2"
    [ "$2" = zeroshot ] || echo "--set optim.lr=${lr_of[$1:$2]}"
}

# A random grouping with the sizes of the grouping in SIMILARITY.h5, as grouping.groups YAML;
# a different grouping than the gradient's whenever one of those sizes exists.
random_groups() {
    "$python" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
tasks = f.attrs["tasks"]
tasks = (tasks.decode() if isinstance(tasks, bytes) else tasks).split("\n")
g = f["group_of_task"][()]
rng = np.random.default_rng(1000 + int(sys.argv[2]))
def canon(label):
    return sorted(tuple(sorted(np.flatnonzero(label == k))) for k in set(label.tolist()))
for attempt in range(1000):
    label = rng.permutation(g)
    if canon(label) != canon(g):
        break
groups = [[tasks[i] for i in np.flatnonzero(label == k)] for k in sorted(set(label.tolist()))]
print("[" + ", ".join("[" + ", ".join(grp) + "]" for grp in groups) + "]")
PY
}

# ---- 1. models ----
if [ ! -f "$pretrained" ]; then
    log "pretraining: $pretrain_config -> $pretrained"
    pretrain_set=()
    for kv in ${STUDY_PRETRAIN_SET:-}; do pretrain_set+=(--set "$kv"); done
    # --resume: finishes a pretraining that ./quickstart demo paused at step 1000, or a killed one
    "${mpi[@]}" "$bin" pretrain "$pretrain_config" --resume "${pretrain_set[@]}" >"$out/logs/pretrain.log" 2>&1
    printf 'pretrain\t%s\n' $(( $(date +%s) - start )) >>"$out/timing.tsv"
fi
if [ ! -f "$random_model" ]; then
    "$bin" makemodel --config-from "$pretrained" --seed 7 --out "$random_model" >"$out/logs/random_model.log"
fi

# ---- 2. the learning rate of each method, chosen on a validation window ----
# Per task, on the first seed, each rate of the grid; scored on test images [500, 1000) of every
# task, disjoint from the reported [0, 500) (train.test_images). The rate with the best average
# validation accuracy (the smaller one on a tie) serves every run of that method on that model;
# when that is the grid's smallest or largest rate, the next rate past it on the 1-2-5 scale is
# tried too, until the best is bracketed (analysis/lr_grid.py). The transfer controls choose
# theirs on the random-weight model the same way.
lr_grid=${STUDY_LR_GRID:-"0.002 0.005 0.01 0.02 0.05"}
validation=(--set train.test_skip=500 --set train.test_images=500)
declare -A lr_of
val_seed=${seeds%% *}
for key in pretrained:mmap pretrained:coop random:mmap random:coop pretrained:vpt pretrained:ivlp \
    pretrained:maple pretrained:bitfit pretrained:adapter random:vpt random:ivlp random:maple \
    pretrained:mmap4 random:mmap4 pretrained:mmap-n128 random:mmap-n128 pretrained:ivlp1 random:ivlp1; do
    model=${key%%:*} m=${key#*:}
    rates=($lr_grid) todo=($lr_grid)
    while :; do
        for lr in "${todo[@]}"; do
            run "val-$model-$m-lr$lr" "$model" "lr:$m:$lr" "$val_seed" train $(method_args $m) --set optim.lr="$lr" \
                "${validation[@]}"
        done
        # analysis/lr_grid.py: "best RATE", or "try RATE" past the grid's edge when the best is there
        step=$("$python" analysis/lr_grid.py "$out" "$model" "$m" "${rates[@]}")
        read -r verdict lr <<<"$step"
        [ "$verdict" = best ] && break
        rates+=("$lr") todo=("$lr")
    done
    lr_of[$key]=$lr
    log "learning rate of $m on the $model model: $lr (tried ${rates[*]})"
done
mmap_lr=(--set optim.lr="${lr_of[pretrained:mmap]}")

# ---- 3. runs, the ones the acceptance checks need first ----
# Runs with a phase 1: grouped, 40 steps of shared prompts, 4 gradient snapshots.
phase1=(--set multitask.mode=grouped --set multitask.phase1_steps=40 --set multitask.snapshot_count=4)
# sharing VARIANT SEED ARGS...: MmAP (ARGS: its size and rate) with one prompt set for all tasks,
# grouped by its phase 1, and on a random grouping with the sizes of that grouping.
sharing() {
    local v=$1 s=$2 groups
    shift 2
    run "pre-$v-shared-s$s" pretrained "$v-shared" "$s" train "$@" --set multitask.mode=shared
    run "pre-$v-grouped-s$s" pretrained "$v-grouped" "$s" run "${phase1[@]}" "$@"
    groups=$(random_groups "$out/pre-$v-grouped-s$s/similarity.h5" "$s")
    run "pre-$v-randgroup-s$s" pretrained "$v-randgroup" "$s" train "$@" --set multitask.mode=grouped \
        --set grouping.rule=explicit --set "grouping.groups=$groups"
}
planted="[inverted, inverted2, rotated, rotated2, tinted, tinted2]"
for s in $seeds; do
    for m in zeroshot mmap coop; do
        run "pre-$m-s$s" pretrained "$m" "$s" train $(train_args pretrained $m)
    done
    run "planted-s$s" pretrained planted "$s" group "${phase1[@]}" "${mmap_lr[@]}" --set "data.domains=$planted"
    sharing mmap "$s" "${mmap_lr[@]}"
    for m in zeroshot mmap; do
        run "rand-$m-s$s" random "$m" "$s" train $(train_args random $m)
    done
done
bf16=no
"$bin" --version | grep -qx 'gemm onednn/bf16: yes' && bf16=yes
[ "$bf16" = yes ] || log "no bf16 GEMM path on this machine (clipmtl --version): MmAP in bf16 is not run"
for s in $seeds; do
    run "rand-coop-s$s" random coop "$s" train $(train_args random coop)
    # bf16 parity (issue 9): MmAP per task with the frozen CLIP's GEMMs in bf16, where the CPU
    # has a bf16 path (AVX512-BF16); elsewhere the row is left out of the table.
    if [ "$bf16" = yes ]; then
        run "pre-mmap-bf16-s$s" pretrained mmap-bf16 "$s" train "${mmap_lr[@]}" --set compute.precision=bf16
    fi
    run "planted-batch-s$s" pretrained planted-batch "$s" group "${phase1[@]}" "${mmap_lr[@]}" \
        --set "data.domains=$planted" --set grouping.snapshot_images=batch
    for m in vpt ivlp maple; do
        run "pre-$m-s$s" pretrained "$m" "$s" train $(train_args pretrained $m)
    done
done
# The transfer control of the deep-prompt baselines: does the gap to the random-weight model
# depend on the method that tunes the prompts?
for s in $seeds; do
    for m in vpt ivlp maple; do
        run "rand-$m-s$s" random "$m" "$s" train $(train_args random $m)
    done
done
# Variants per task on both models, each with its own validated rate: MmAP at spec.md 3.4's
# b = m = 4 (the study's MmAP has b = m = 2: fmnist_study.yaml); MmAP with n = 128, asking
# whether its Kronecker structure limits what it takes from pretraining (with n = 64 each prompt
# row is its 64-wide source row tiled twice across the width, scaled per half; n = 128 makes W_l
# and W_v 1 x 1, the rows free 128-wide vectors, text and visual one scalar apart); IVLP with 1
# text and 1 visual token per layer (1024 parameters, MmAP n = 128 has 1032), asking whether
# IVLP's transfer (visual prompts independent of the text ones) stays with as few parameters.
for s in $seeds; do
    for m in mmap4 mmap-n128 ivlp1; do
        run "pre-$m-s$s" pretrained "$m" "$s" train $(train_args pretrained $m)
        run "rand-$m-s$s" random "$m" "$s" train $(train_args random $m)
    done
done
# Sharing at b = m = 4, its own phase 1 included. A grouped task's text prompt is 4 group + 4
# task rows: ctx_init's 4 words and 4 placeholders, all replaced.
for s in $seeds; do
    sharing mmap4 "$s" $(method_args mmap4) --set optim.lr="${lr_of[pretrained:mmap4]}"
done
# The baselines in grouped mode, on the grouping MmAP's phase 1 found for the seed (its similarity
# file; phase 1 is not run again): group-shared + task-specific sets as for MmAP. CoOp's sets are
# 2 + 2 text tokens, so that a task's sentence is per-task CoOp's "a photo of a <class>." (ctx_init
# has 4 words to initialise them from).
grouped_baseline() {
    local halve=()
    [ "$1" = coop ] && halve=(--set method.n_ctx_text=2)
    run "pre-$1-grouped-s$2" pretrained "$1-grouped" "$2" train $(train_args pretrained $1) "${halve[@]}" \
        --set multitask.mode=grouped --set grouping.similarity_file="$out/pre-mmap-grouped-s$2/similarity.h5"
}
for s in $seeds; do
    for m in coop vpt ivlp maple; do grouped_baseline $m $s; done
done
# Threshold sweep: the threshold rule on each seed's phase-1 similarity. A tau whose grouping a
# smaller one already gave is not trained again: its run folder links to that run.
for s in $sweep_seeds; do
    sim=$out/pre-mmap-grouped-s$s/similarity.h5
    declare -A trained=()
    for tau in -1.0 0.0 0.2 0.4 0.6 0.8 1.0; do
        grouping=$("$bin" regroup "$sim" --threshold "$tau" | grep '^group' | sed 's/^group [0-9]*: //' | tr '\n' '|')
        name=pre-sweep-tau$tau-s$s
        if [ -n "${trained[$grouping]:-}" ]; then
            [ -e "$out/$name" ] || ln -s "${trained[$grouping]}" "$out/$name"
        else
            trained[$grouping]=$name
        fi
        run "$name" pretrained "sweep:$tau" "$s" train "${mmap_lr[@]}" --set multitask.mode=grouped \
            --set grouping.similarity_file="$sim" --set grouping.rule=threshold --set grouping.tau="$tau"
    done
    unset trained
done
# The weight-updating baselines, per task (grouped mode is refused for them).
for s in $seeds; do
    for m in bitfit adapter; do
        run "pre-$m-s$s" pretrained "$m" "$s" train $(train_args pretrained $m)
    done
done
log "all runs done; total $(( $(date +%s) - start )) s"

# ---- 4. report ----
"$python" analysis/fmnist_study.py "$out" --out "$out/report"
log "report: $out/report/ (study wall time $(( $(date +%s) - start )) s)"
