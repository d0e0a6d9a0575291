"""Readers for clipmtl's HDF5 outputs (docs/formats.md), shared by the analysis scripts."""
import h5py
import numpy as np


def _attr(f, key, default=""):
    if key not in f.attrs:
        return default
    v = f.attrs[key]
    return v.decode() if isinstance(v, bytes) else v


def _tasks(f):
    return str(_attr(f, "tasks")).split("\n")


def read_similarity(path):
    """Returns dict(tasks, steps, cosine [K,N,N], norms [K,N], average [N,N], groups or None)."""
    with h5py.File(path, "r") as f:
        out = {
            "tasks": _tasks(f),
            "steps": np.asarray(f["steps"][()]),
            "cosine": np.asarray(f["cosine"][()]),
            "norms": np.asarray(f["norms"][()]),
            "average": np.asarray(f["average"][()]),
            "groups": np.asarray(f["group_of_task"][()]) if "group_of_task" in f else None,
        }
    n = len(out["tasks"])
    if out["average"].shape != (n, n) or out["cosine"].shape[1:] != (n, n):
        raise ValueError(f"{path}: similarity shapes {out['cosine'].shape}, {out['average'].shape} "
                         f"do not match {n} tasks")
    return out


def flatten_config(text):
    """The effective configuration a run stores (`clipmtl config` output: nested keys, two
    spaces per level, one `key: value` per line) as {"section.key": "value"}, values unparsed."""
    flat, sections = {}, []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        key, _, value = line.strip().partition(":")
        del sections[depth:]
        if value.strip():
            flat[".".join(sections + [key])] = value.strip()
        else:
            sections.append(key)
    return flat


def read_results(path):
    """Returns dict(tasks, accuracy [N], average, trainable, method, mode, seed, groups or None,
    zeroshot [N] or None (train.zeroshot_baseline), config {"section.key": "value"})."""
    with h5py.File(path, "r") as f:
        config = f["config"][()] if "config" in f else b""
        return {
            "tasks": _tasks(f),
            "accuracy": np.asarray(f["accuracy"][()], dtype=float),
            "average": float(np.ravel(f["average_accuracy"][()])[0]),
            "trainable": int(np.ravel(f["trainable_params"][()])[0]),
            "clip": int(np.ravel(f["clip_params"][()])[0]),
            "method": str(_attr(f, "method")),
            "mode": str(_attr(f, "mode")),
            "seed": _attr(f, "seed"),
            "groups": np.asarray(f["group_of_task"][()]) if "group_of_task" in f else None,
            "zeroshot": np.asarray(f["zeroshot_accuracy"][()], dtype=float) if "zeroshot_accuracy" in f else None,
            "config": flatten_config(config.decode() if isinstance(config, bytes) else str(config)),
        }


def threshold_groups(S, tau):
    """Complete linkage stopped at tau, like clipmtl's threshold rule: every pair inside a
    group has similarity > tau. Canonical numbering (groups ordered by their first task)."""
    n = S.shape[0]
    groups = [[i] for i in range(n)]
    while True:
        best, pair = None, None
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                link = min(S[i, j] for i in groups[a] for j in groups[b])
                if link > tau and (best is None or link > best):
                    best, pair = link, (a, b)
        if pair is None:
            break
        a, b = pair
        groups[a] = sorted(groups[a] + groups[b])
        del groups[b]
    groups.sort(key=min)
    label = np.empty(n, dtype=int)
    for g, members in enumerate(groups):
        label[members] = g
    return label
