#!/usr/bin/python3
"""Reference values for the ops of include/clipmtl/ops.h (tests/ops/test_ops.c).

Each case feeds small random float32 inputs through the PyTorch operation that
CLIP uses, then back-propagates a random output gradient `dout` with autograd.
Every tensor is written as raw little-endian float32 to
tests/fixtures/ops/<case>.<tensor>.f32 (ids as float32 too: they are small).
The shapes are fixed here and in test_ops.c; the C side reads exact sizes.

Run with Debian's /usr/bin/python3 (python3-torch 1.13): `make fixtures`.
"""
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "ops")
torch.manual_seed(0)
torch.set_num_threads(1)


def save(case, **tensors):
    for name, t in tensors.items():
        path = os.path.join(OUT, f"{case}.{name}.f32")
        t.detach().to(torch.float32).contiguous().numpy().tofile(path)


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_(True)


def layernorm():
    N, C = 5, 16
    x, w, b = leaf(N, C, scale=2.0), leaf(C), leaf(C)
    x.data += 0.5  # a non-zero mean, so that the centring matters
    y = F.layer_norm(x, (C,), w, b, eps=1e-5)
    dout = torch.randn(N, C)
    y.backward(dout)
    mean = x.detach().mean(1)
    rstd = 1.0 / torch.sqrt(x.detach().var(1, unbiased=False) + 1e-5)
    save("layernorm", inp=x, weight=w, bias=b, out=y, mean=mean, rstd=rstd, dout=dout,
         dinp=x.grad, dweight=w.grad, dbias=b.grad)


def matmul():
    N, C, OC = 6, 12, 10
    x, w, b = leaf(N, C), leaf(OC, C, scale=0.3), leaf(OC)
    y = F.linear(x, w, b)
    dout = torch.randn(N, OC)
    y.backward(dout)
    save("matmul", inp=x, weight=w, bias=b, out=y, dout=dout, dinp=x.grad, dweight=w.grad, dbias=b.grad)


def project():
    N, C, OC = 3, 12, 8
    x, p = leaf(N, C), leaf(C, OC, scale=0.3)
    y = x @ p
    dout = torch.randn(N, OC)
    y.backward(dout)
    save("project", inp=x, proj=p, out=y, dout=dout, dinp=x.grad, dproj=p.grad)


def attention(case, B, T, D, H, causal):
    """Written out as CLIP's nn.MultiheadAttention computes it after in_proj:
    q scaled by 1/sqrt(hd), softmax(q k^T + mask) v, heads concatenated."""
    hd = D // H
    qkv = leaf(B, T, 3 * D)
    q, k, v = qkv.split(D, dim=2)

    def heads(t):  # [B,T,D] -> [B,H,T,hd]
        return t.reshape(B, T, H, hd).transpose(1, 2)

    s = (heads(q) / math.sqrt(hd)) @ heads(k).transpose(2, 3)
    if causal:
        mask = torch.full((T, T), float("-inf")).triu_(1)
        s = s + mask
    p = torch.softmax(s, dim=-1)
    y = (p @ heads(v)).transpose(1, 2).reshape(B, T, D)
    dout = torch.randn(B, T, D)
    y.backward(dout)
    save(case, qkv=qkv, out=y, probs=p, dout=dout, dqkv=qkv.grad)


def quick_gelu():
    n = 64
    x = leaf(n, scale=3.0)
    y = x * torch.sigmoid(1.702 * x)
    dout = torch.randn(n)
    y.backward(dout)
    save("quick_gelu", inp=x, out=y, dout=dout, dinp=x.grad)


def residual():
    n = 32
    a, b = leaf(n), leaf(n)
    y = a + b
    dout = torch.randn(n)
    y.backward(dout)
    save("residual", a=a, b=b, out=y, dout=dout, da=a.grad, db=b.grad)


def patch_embed():
    B, C, H, W, P, D = 2, 3, 8, 12, 4, 6
    x, w = leaf(B, C, H, W), leaf(D, C, P, P, scale=0.2)
    y = F.conv2d(x, w, stride=P)  # [B,D,gh,gw]
    y = y.flatten(2).transpose(1, 2)  # [B,G,D], grid row-major, as CLIP reshapes it
    dout = torch.randn(*y.shape)
    y.backward(dout)
    save("patch_embed", pixels=x, weight=w, out=y, dout=dout, dpixels=x.grad, dweight=w.grad)


def embedding():
    V, D = 10, 8
    ids = torch.tensor([3, 0, 9, 3, 3, 7, 1], dtype=torch.long)  # repeats: scatter-add must sum
    table = leaf(V, D)
    y = F.embedding(ids, table)
    dout = torch.randn(len(ids), D)
    y.backward(dout)
    save("embedding", ids=ids.float(), table=table, out=y, dout=dout, dtable=table.grad)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    layernorm()
    matmul()
    project()
    attention("attention_small", B=2, T=6, D=16, H=4, causal=0)
    attention("attention_small_causal", B=2, T=6, D=16, H=4, causal=1)
    attention("attention_hd64_causal", B=2, T=5, D=128, H=2, causal=1)
    attention("attention_hd64", B=2, T=5, D=128, H=2, causal=0)
    quick_gelu()
    residual()
    patch_embed()
    embedding()
