#!/usr/bin/env bash
# `clipmtl zeroshot` on a generated folder dataset: the per-domain accuracies must equal those
# computed independently (numpy) from `clipmtl encode` features of the same images and class
# sentences, and 1 and 3 ranks must print the same table.
set -euo pipefail
bin=$CLIPMTL_BUILDDIR/clipmtl
weights=$CLIPMTL_SHARED/data/oracle_tiny/model_openai.safetensors
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" mkdemo --out "$tmp/data" --domains 2 --classes 3 --per-class 5 --size 40 --seed 3 >/dev/null

"$bin" zeroshot --weights "$weights" --data "$tmp/data" --template "a sketch of a {}." \
    --predictions "$tmp/one.csv" >"$tmp/one.txt"
"$CLIPMTL_SRCDIR/tests/run-mpi" 3 "$bin" zeroshot --weights "$weights" --data "$tmp/data" \
    --template "a sketch of a {}." --batch 2 --predictions "$tmp/three.csv" >"$tmp/three.txt"
cat "$tmp/one.txt"
diff <(tail -n +2 "$tmp/one.txt") <(tail -n +2 "$tmp/three.txt")
diff "$tmp/one.csv" "$tmp/three.csv"

# Independent check: features of every image (dataset order: domain, class, file) and class.
mapfile -t images < <(cd "$tmp/data" && find . -type f | LC_ALL=C sort | sed "s|^\./|$tmp/data/|")
mapfile -t classes < <(ls "$tmp/data/$(ls "$tmp/data" | head -1)" | LC_ALL=C sort)
texts=()
for c in "${classes[@]}"; do texts+=(--text "a sketch of a ${c//_/ }."); done
"$bin" encode --weights "$weights" --images "${images[@]}" "${texts[@]}" --out "$tmp/f.h5" >/dev/null
"$PYTHON3" - "$tmp/f.h5" "$tmp/one.txt" "$tmp/one.csv" "${images[@]}" <<'PY'
import csv, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
logits, images = f["logits_per_image"][()], sys.argv[4:]
predicted = [int(r["predicted"]) for r in csv.DictReader(open(sys.argv[3]))]
assert predicted == [int(np.argmax(row)) for row in logits], "per-image predictions differ from numpy"
table = {l.split()[0]: float(l.split()[-1]) for l in open(sys.argv[2]).read().splitlines()[2:]}
classes = sorted({p.split("/")[-2] for p in images})
by_domain = {}
for p, row in zip(images, logits):
    domain, cls = p.split("/")[-3], p.split("/")[-2]
    by_domain.setdefault(domain, []).append(int(np.argmax(row)) == classes.index(cls))
for d, hits in by_domain.items():
    want = round(100.0 * sum(hits) / len(hits), 2)
    key = d.split()[0]
    print(f"{d}: zeroshot {table[key]:.2f}, numpy {want:.2f}")
    assert abs(table[key] - want) < 0.006, (d, table[key], want)
PY
echo "zeroshot agrees with encode + numpy"
