#!/bin/sh
# Parallel efficiency of prompt training with clipmtl itself (Fashion-MNIST domains as tasks,
# a random CLIP of PRESET, method MmAP at its defaults):
#  (a) data parallel: one task, its batch split over 2 ranks x 1 thread, against 1 rank x 2
#      threads; efficiency = images/s (2x1) / images/s (1x2);
#  (b) weak scaling: one task per rank, 1..MAXRANKS ranks (oversubscribed beyond the cores: the
#      ideal is then cores/ranks of the 1-rank speed per rank), of phase 1 (clipmtl group, one
#      shared prompt set) and phase 2 (clipmtl train, group + task prompts; stopped after its
#      last step, before the evaluation); efficiency = images/s per rank against 1 rank.
# Speeds are the img/s of the last logged step (the first step, which sizes and touches the
# memory, is left out). The 1-minute load average is printed with every figure.
#
#   bench/bench_scaling.sh [BUILD_DIR (build)]
#   environment: PRESET (vit-b16) BATCH (32) STEPS (3) MAXRANKS (4) GEMM (auto) PRECISION (fp32)
set -eu
B=${1:-build}
PRESET=${PRESET:-vit-b16} BATCH=${BATCH:-32} STEPS=${STEPS:-3} MAXRANKS=${MAXRANKS:-4}
GEMM=${GEMM:-auto} PRECISION=${PRECISION:-fp32}
CORES=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/bench_scaling.XXXXXX)
trap 'rm -rf "$work"' EXIT
domains="original inverted rotated sketch tinted"

# config NTASKS: the YAML of a run over the first NTASKS domains
config() {
  list=$(echo $domains | tr ' ' '\n' | head -n "$1" | paste -sd, -)
  groups=$(echo $domains | tr ' ' '\n' | head -n "$1" | sed 's/.*/[&]/' | paste -sd, -)
  cat <<YAML
run: {name: r$1, out_dir: $work, log_every: 1, checkpoint_every: 0}
model: {preset: $PRESET}
data: {kind: fashion_mnist, domains: [$list], k_shot: 16, image_size: $(image_size)}
method: $(method)
multitask: {mode: grouped, phase1_steps: $STEPS, snapshot_count: 1}
grouping: {rule: explicit, groups: [$groups]}
optim: {batch_size: $BATCH, steps: $STEPS}
compute: {gemm: $GEMM, precision: $PRECISION}
YAML
}

# rate RANKS THREADS COMMAND NTASKS: img/s of the last logged step, per rank
rate() {
  ranks=$1 threads=$2 cmd=$3 ntasks=$4
  config "$ntasks" > "$work/c$ntasks.yaml"

  log="$work/log.$cmd.$ranks.$threads"
  # --bind-to none: mpirun would bind one or two ranks to one core each, and OpenBLAS then runs
  # one thread whatever it is asked for (1 rank x 2 threads measured 2.4 img/s bound, 4.1 unbound).
  mpirun --oversubscribe --bind-to none -np "$ranks" -x OPENBLAS_NUM_THREADS="$threads" \
    "$B/clipmtl" "$cmd" "$work/c$ntasks.yaml" > "$log" 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    if grep -q "step $STEPS/$STEPS" "$log" 2>/dev/null; then kill $pid 2>/dev/null || true; break; fi
    sleep 1
  done
  wait $pid 2>/dev/null || true
  r=$(grep "step $STEPS/$STEPS" "$log" | sed -n 's/.*  \([0-9.]*\) img\/s.*/\1/p' | tail -1)
  if [ -z "$r" ]; then echo "  $cmd with $ranks ranks failed:" >&2; tail -5 "$log" >&2; echo 0; return; fi
  echo "$r"
}

# the tiny preset (2 layers of width 64, 32x32 inputs) needs smaller prompts than the defaults
image_size() { case $PRESET in tiny) echo 32;; *) echo 224;; esac; }
method() { case $PRESET in tiny) echo "{name: mmap, depth: 2, mmap: {b: 2, m: 2, n: 64}}";; *) echo "{name: mmap}";; esac; }

echo "bench_scaling: preset $PRESET, batch $BATCH per task, $STEPS steps, gemm $GEMM/$PRECISION, $CORES cores"
echo "(a) data parallel, one task:"
one=$(rate 1 "$CORES" train 1); echo "  1 rank  x $CORES threads: $one img/s (load $(cut -d' ' -f1 /proc/loadavg))"
two=$(rate "$CORES" 1 train 1); echo "  $CORES ranks x 1 thread:  $two img/s (load $(cut -d' ' -f1 /proc/loadavg))"
awk -v a="$two" -v b="$one" 'BEGIN { if (b > 0) printf "  efficiency (ranks / threads): %.2f\n", a / b }'
for phase in group train; do
  echo "(b) weak scaling of $( [ $phase = group ] && echo "phase 1 (clipmtl group)" || echo "phase 2 (clipmtl train)" ), one task per rank, 1 thread per rank:"
  base=""
  n=1
  while [ $n -le $MAXRANKS ]; do
    r=$(rate $n 1 $phase $n)
    per=$(awk -v r="$r" -v n=$n 'BEGIN { printf "%.2f", r / n }')
    [ -z "$base" ] && base=$per
    ideal=$(awk -v n=$n -v c=$CORES 'BEGIN { print (n <= c ? 1 : c / n) }')
    awk -v n=$n -v r="$r" -v p="$per" -v b="$base" -v i="$ideal" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
      'BEGIN { printf "  %d ranks: %s img/s, %s per rank, efficiency %.2f (ideal on these cores %.2f), load %s\n", n, r, p, (b > 0 ? p / b : 0), i, l }'
    n=$((n * 2))
  done
done
