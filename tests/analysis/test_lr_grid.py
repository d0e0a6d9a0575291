"""analysis/lr_grid.py, the study's learning-rate rule: the best average validation accuracy,
the smaller rate on a tie, and one more rate on the 1-2-5 scale whenever the best is the smallest
or the largest rate tried, until it is bracketed or at a bound. Run as the driver runs it, on
validation results written here."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

script = os.path.join(os.environ["CLIPMTL_SRCDIR"], "analysis", "lr_grid.py")
study = tempfile.mkdtemp()


def validation(rate, accuracy):
    os.makedirs(os.path.join(study, f"val-pretrained-mmap-lr{rate}"), exist_ok=True)
    with h5py.File(os.path.join(study, f"val-pretrained-mmap-lr{rate}", "results.h5"), "w") as f:
        f["accuracy"] = np.full(5, accuracy) if np.isscalar(accuracy) else np.asarray(accuracy)


def step(*rates):
    return subprocess.run([sys.executable, script, study, "pretrained", "mmap", *rates],
                          check=True, capture_output=True, text=True).stdout.strip()


for rate, accuracy in (("0.002", 45.0), ("0.005", 44.8), ("0.01", 43.6)):
    validation(rate, accuracy)
assert step("0.002", "0.005", "0.01") == "try 0.001"          # best at the small edge: go below
validation("0.001", 44.0)
assert step("0.002", "0.005", "0.01", "0.001") == "best 0.002"  # bracketed by 0.001 and 0.005
validation("0.001", 46.0)
assert step("0.002", "0.005", "0.01", "0.001") == "try 0.0005"
validation("0.01", 50.0)
assert step("0.002", "0.005", "0.01") == "try 0.02"           # best at the large edge: go above
validation("0.02", 50.0)
assert step("0.002", "0.005", "0.01", "0.02") == "best 0.01"   # a tie: the smaller rate
# a tie whose float means differ in the last bit (20.559999999999995 and 20.56; seen in the study)
validation("0.01", [23.6, 13.2, 24.6, 16.4, 25.0])
validation("0.005", [19.8, 23.0, 27.4, 13.2, 19.4])
validation("0.02", 18.0)
validation("0.002", 18.0)
assert step("0.002", "0.005", "0.01", "0.02") == "best 0.005"
for rate in ("0.2", "0.5"):
    validation(rate, 60.0 if rate == "0.5" else 55.0)
assert step("0.2", "0.5") == "best 0.5"                        # the upper bound is not passed
for rate in ("0.0001", "0.0002"):
    validation(rate, 60.0 if rate == "0.0001" else 55.0)
assert step("0.0001", "0.0002") == "best 0.0001"               # nor the lower one
missing = subprocess.run([sys.executable, script, study, "pretrained", "mmap", "0.07"], capture_output=True)
assert missing.returncode != 0                                 # a missing run is an error, not a choice
print("lr_grid.py: edges extended on the 1-2-5 scale, ties to the smaller rate, bounds kept")
