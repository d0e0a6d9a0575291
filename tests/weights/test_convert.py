"""tools/clip_to_safetensors.py on checkpoints made here from a tiny random CLIP (clipmtl makemodel):
an OpenAI-named state dict (torch.save), the same as a TorchScript archive in float16 with OpenAI's
integer entries (as OpenAI's released .pt files are), and a Hugging Face pytorch_model.bin with its
position_ids. Each converted file must hold exactly the reference tensors, pass `clipmtl inspect`,
and give `clipmtl encode` features equal to the reference file's (bit for bit: same weights)."""
import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

try:
    import h5py
    import torch
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SRC, BUILD = os.environ["CLIPMTL_SRCDIR"], os.environ["CLIPMTL_BUILDDIR"]
CLIPMTL = os.path.join(BUILD, "clipmtl")
CONVERT = os.path.join(SRC, "tools", "clip_to_safetensors.py")
work = tempfile.mkdtemp(prefix="clipmtl-convert-")
atexit.register(shutil.rmtree, work, True)


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def read_safetensors(path):
    """name -> torch tensor; an independent reader of the format, for the comparisons."""
    types = {"F32": (np.float32, None), "F16": (np.float16, None), "BF16": (np.int16, torch.bfloat16)}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        dtype, view = types[h["dtype"]]
        begin, end = h["data_offsets"]
        t = torch.from_numpy(np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtype).copy()).reshape(h["shape"])
        out[name] = t.view(view) if view is not None else t
    return out


class Root(torch.nn.Module):
    """A module tree whose state dict has given names, scripted like OpenAI's released models."""

    def forward(self, x):
        return x


def torchscript(state, path):
    root = Root()
    for name, t in state.items():
        *parents, leaf = name.split(".")
        m = root
        for p in parents:
            if not hasattr(m, p):
                m.add_module(p, torch.nn.Module())
            m = getattr(m, p)
        if t.is_floating_point():
            m.register_parameter(leaf, torch.nn.Parameter(t, requires_grad=False))
        else:
            m.register_buffer(leaf, t)
    torch.jit.save(torch.jit.script(root), path)


def encode(weights, tag):
    out = os.path.join(work, f"enc_{tag}.h5")
    run(CLIPMTL, "encode", "--weights", weights, "--pixels", pixels, "--shape", "2,3,32,32",
        "--text", "a photo of a cat", "--text", "a sketch", "--out", out)
    with h5py.File(out, "r") as f:
        return {k: f[k][()] for k in ("image_features", "text_features", "logits_per_image")}


def check(case, source, reference, naming, dtype_args=()):
    converted = os.path.join(work, f"{case}.safetensors")
    print(run(sys.executable, CONVERT, source, converted, *dtype_args).strip())
    got, want = read_safetensors(converted), read_safetensors(reference)
    assert set(got) == set(want), f"{case}: names differ: {sorted(set(got) ^ set(want))}"
    for name in want:
        assert got[name].dtype == want[name].dtype and torch.equal(got[name], want[name]), f"{case}: {name} differs"
    info = run(CLIPMTL, "inspect", converted)
    assert f"naming: {naming}" in " ".join(info.split()), f"{case}: inspect says\n{info}"
    a, b = encode(converted, case), encode(reference, case + "_ref")
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{case}: {k} differs by {np.abs(a[k] - b[k]).max()}"
    print(f"ok   {case}: {len(got)} tensors identical, inspect ({naming}) and encode equal to the reference")


ref = {}
for naming, dtype in (("openai", "f32"), ("hf", "f32"), ("openai", "f16")):
    ref[naming, dtype] = os.path.join(work, f"ref_{naming}_{dtype}.safetensors")
    run(CLIPMTL, "makemodel", "--preset", "tiny", "--seed", "3", "--naming", naming, "--dtype", dtype,
        "--out", ref[naming, dtype])
pixels = os.path.join(work, "pixels.f32")
np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype("<f4").tofile(pixels)

openai = read_safetensors(ref["openai", "f32"])
torch.save(openai, os.path.join(work, "openai_state_dict.pt"))
check("openai_state_dict", os.path.join(work, "openai_state_dict.pt"), ref["openai", "f32"], "openai")

jit_state = {k: v.half() for k, v in openai.items()}
jit_state.update(input_resolution=torch.tensor(32), context_length=torch.tensor(77), vocab_size=torch.tensor(49408))
torchscript(jit_state, os.path.join(work, "openai_jit.pt"))
check("openai_torchscript_f16", os.path.join(work, "openai_jit.pt"), ref["openai", "f16"], "openai")

hf = read_safetensors(ref["hf", "f32"])
hf["text_model.embeddings.position_ids"] = torch.arange(77).unsqueeze(0)
torch.save(hf, os.path.join(work, "pytorch_model.bin"))
check("hf_bin", os.path.join(work, "pytorch_model.bin"), ref["hf", "f32"], "hf")
# --dtype: the float32 HF file stored as float16 equals makemodel's float16 rounding of it.
run(CLIPMTL, "makemodel", "--preset", "tiny", "--seed", "3", "--naming", "hf", "--dtype", "f16",
    "--out", os.path.join(work, "ref_hf_f16.safetensors"))
check("hf_bin_to_f16", os.path.join(work, "pytorch_model.bin"), os.path.join(work, "ref_hf_f16.safetensors"), "hf",
      ("--dtype", "f16"))
