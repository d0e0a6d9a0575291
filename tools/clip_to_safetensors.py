#!/usr/bin/python3
"""Convert a CLIP checkpoint saved by PyTorch to safetensors, which clipmtl reads.

    tools/clip_to_safetensors.py ViT-B-16.pt weights/ViT-B-16.safetensors
    tools/clip_to_safetensors.py pytorch_model.bin weights/clip-vit-base-patch16.safetensors

Inputs: OpenAI's released .pt files (TorchScript archives), a plain state dict saved with
torch.save (OpenAI or open_clip names), or a Hugging Face CLIPModel pytorch_model.bin. Tensor
names are kept: clipmtl recognises both namings. Tensors that are not floating point (OpenAI's
input_resolution / context_length / vocab_size, Hugging Face's position_ids) are left out, as
clipmtl ignores them. Needs only Debian's python3-torch: the safetensors format (an 8-byte
little-endian header length, a JSON header of name -> dtype, shape, byte range, then the raw
little-endian data) is written here directly.
"""
import argparse
import json
import os
import struct
import sys

import torch

DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
TARGETS = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def load_state_dict(path):
    """The tensors of a TorchScript archive or of a pickled state dict (loaded without code)."""
    try:
        return dict(torch.jit.load(path, map_location="cpu").state_dict())
    except RuntimeError:
        pass  # not TorchScript
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        sys.exit(f"{path}: not a state dict of tensors (a dict name -> tensor, or {{'state_dict': ...}})")
    return dict(obj)


def raw_bytes(t):
    """Little-endian bytes of a contiguous tensor (bfloat16 has no numpy type: reinterpret)."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    data = t.numpy()
    if sys.byteorder != "little":
        data = data.byteswap()
    return data.tobytes()


def write_safetensors(path, tensors, metadata):
    """tensors: name -> tensor of a dtype in DTYPE_NAMES. Written to path.tmp, then renamed."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        blob = raw_bytes(tensors[name])
        header[name] = {"dtype": DTYPE_NAMES[tensors[name].dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="OpenAI .pt, torch.save'd state dict, or Hugging Face pytorch_model.bin")
    parser.add_argument("output", help="the .safetensors file to write")
    parser.add_argument("--dtype", choices=["keep", *TARGETS], default="keep",
                        help="stored precision (default: as in the input; OpenAI's .pt files are f16)")
    args = parser.parse_args()
    state = load_state_dict(args.input)
    kept, dropped = {}, []
    for name, t in state.items():
        if not t.is_floating_point():
            dropped.append(name)
            continue
        if args.dtype != "keep":
            t = t.to(TARGETS[args.dtype])
        elif t.dtype not in DTYPE_NAMES:
            t = t.to(torch.float32)  # float64: clipmtl reads f32, f16 and bf16
        kept[name] = t
    if not kept:
        sys.exit(f"{args.input}: no floating-point tensors")
    write_safetensors(args.output, kept, {"format": "pt", "source": os.path.basename(args.input)})
    count = sum(t.numel() for t in kept.values())
    print(f"{args.output}: {len(kept)} tensors, {count} parameters"
          + (f"; left out (not floating point): {', '.join(sorted(dropped))}" if dropped else ""))


if __name__ == "__main__":
    main()
