#!/usr/bin/env bash
# A full disk (a 2 MiB tmpfs as out_dir; needs root to mount, else skipped) on 1 and 2 ranks:
#  - no room for splits.h5, and no room for the next checkpoint after a few: the job ends (no
#    hang: every rank learns of a failed collective write) with a non-zero status, without a
#    crash in MPI_Finalize, and the error names the file and "No space left on device";
#  - the newest complete checkpoint is intact and no unfinished file is left.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
make_config "$tmp/run.yaml"
disk=$tmp/disk
mkdir -p "$disk"
if ! mount -t tmpfs -o size=2m tmpfs "$disk" 2>"$tmp/mount.txt"; then
    echo "SKIP: cannot mount a tmpfs (needs root): $(cat "$tmp/mount.txt")"
    exit 77
fi
trap 'umount "$disk"; rm -rf "$tmp"' EXIT
export CLIPMTL_MPI_TEST_TIMEOUT=60 # a hang fails the test instead of blocking it

# fill_to KiB: leaves that much room on the tmpfs
fill_to() {
    rm -rf "$disk"/*
    local total; total=$(df -k --output=avail "$disk" | tail -1)
    [ "$total" -le "$1" ] || dd if=/dev/zero of="$disk/filler" bs=1k count=$((total - $1)) status=none 2>/dev/null || true
}
# expect_disk_full NP LOG FILE: the run failed cleanly, naming FILE and the cause
expect_disk_full() {
    local np=$1 log=$2 file=$3 status=$4
    [ "$status" -ne 0 ] || { echo "np $np: the run on a full disk exited 0"; exit 1; }
    [ "$status" -ne 124 ] && [ "$status" -ne 137 ] || { echo "np $np: the run hung (killed after the timeout)"; cat "$log"; exit 1; }
    if grep -q "Segmentation fault\|Signal: " "$log"; then echo "np $np: crashed"; cat "$log"; exit 1; fi
    grep -q "error: .*$file.*No space left on device" "$log" || { echo "np $np: cause or file not named"; cat "$log"; exit 1; }
}

for np in 1 2; do
    fill_to 8 # room for the lock file, not for splits.h5 (about 20 KiB)
    status=0
    mpi "$np" "$bin" train "$tmp/run.yaml" --set multitask.mode=shared --set run.out_dir="$disk" \
        >"$tmp/splits$np.txt" 2>&1 || status=$?
    expect_disk_full "$np" "$tmp/splits$np.txt" "splits.h5" "$status"
    echo "np $np: splits.h5 on a full disk: status $status, $(grep -m1 -o 'error: .*' "$tmp/splits$np.txt" | cut -c1-110)"

    fill_to 100 # splits.h5 and a few checkpoints of about 12 KiB
    status=0
    mpi "$np" "$bin" train "$tmp/run.yaml" --set multitask.mode=shared --set run.out_dir="$disk" \
        --set optim.steps=1000 --set run.checkpoint_every=1 --set run.keep_checkpoints=1000 \
        >"$tmp/ckpt$np.txt" 2>&1 || status=$?
    expect_disk_full "$np" "$tmp/ckpt$np.txt" "ckpt-[0-9]*.h5.tmp" "$status"
    ckdir=$disk/t/checkpoints-phase2
    ! ls "$ckdir" | grep -q "\.tmp$" || { echo "np $np: unfinished file left: $(ls "$ckdir")"; exit 1; }
    newest=$(ls "$ckdir" | sed -n 's/^ckpt-\([0-9]*\)\.h5$/\1/p' | sort -n | tail -1)
    "$PYTHON3" -c "
import h5py; f = h5py.File('$ckdir/ckpt-$newest.h5', 'r')
assert int(f.attrs['step']) == $newest and len(f['params']) > 0"
    echo "np $np: disk full at checkpoint $((newest + 1)): status $status, checkpoint $newest intact"
done
echo "disk full: ok"
