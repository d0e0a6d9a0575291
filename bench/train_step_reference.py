#!/usr/bin/python3
"""PyTorch baseline of bench/bench_train_step.c: one training step (forward, loss, backward; no
optimizer) of a frozen ViT-B/16 CLIP with MaPLe or MmAP prompts, written the way the MaPLe
repository runs it: nn.MultiheadAttention blocks (OpenAI's clip/model.py), the text tower over
all 77 tokens of every class sentence, deep prompts inserted before each prompted block, fp32.

  train_step_reference.py --method maple|mmap --ids FILE --classes C [--batch 32] [--steps 2]
                          [--threads 1] [--n 2 --depth 9] [--mmap-m 4 --mmap-n 256]

FILE holds the tokenized class sentences, [C,77] int32 (written by the C bench, so both sides
run the same tokens). --threads sets PyTorch's intra-op threads; its GEMMs go to OpenBLAS, whose
threads OPENBLAS_NUM_THREADS sets. Weights are random (only the arithmetic matters). After one warm-up step
it prints one line per timed step, `step_seconds <s>`, and `maxrss_mib <MiB>`.
"""
import argparse
import math
import resource
import time
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

DV, LV, DT, LT, EMBED, PATCH, IMAGE, CONTEXT, VOCAB = 768, 12, 512, 12, 512, 16, 224, 77, 49408


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, d, mask):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, d // 64)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.mask = mask

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
        return x + self.mlp(self.ln_2(x))


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        s = DV ** -0.5
        self.conv1 = nn.Conv2d(3, DV, PATCH, PATCH, bias=False)
        self.class_embedding = nn.Parameter(s * torch.randn(DV))
        self.vpos = nn.Parameter(s * torch.randn((IMAGE // PATCH) ** 2 + 1, DV))
        self.ln_pre = nn.LayerNorm(DV)
        self.vblocks = nn.ModuleList([Block(DV, None) for _ in range(LV)])
        self.ln_post = nn.LayerNorm(DV)
        self.proj = nn.Parameter(s * torch.randn(DV, EMBED))
        self.token_embedding = nn.Embedding(VOCAB, DT)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.tpos = nn.Parameter(0.01 * torch.randn(CONTEXT, DT))
        mask = torch.full((CONTEXT, CONTEXT), float("-inf")).triu_(1)
        self.tblocks = nn.ModuleList([Block(DT, mask) for _ in range(LT)])
        self.ln_final = nn.LayerNorm(DT)
        self.text_projection = nn.Parameter(DT ** -0.5 * torch.randn(DT, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, pixels, vprompts):  # MaPLe's VisionTransformer_MaPLe
        b, n = pixels.shape[0], vprompts[0].shape[0]
        x = self.conv1(pixels).reshape(b, DV, -1).permute(0, 2, 1)
        x = torch.cat([self.class_embedding + torch.zeros(b, 1, DV), x], dim=1) + self.vpos
        x = torch.cat([x, vprompts[0].expand(b, -1, -1)], dim=1)
        x = self.ln_pre(x).permute(1, 0, 2)
        for i, blk in enumerate(self.vblocks):
            if 0 < i < len(vprompts):
                x = torch.cat([x[:-n], vprompts[i].unsqueeze(1).expand(-1, b, -1)], dim=0)
            x = blk(x)
        return self.ln_post(x.permute(1, 0, 2)[:, 0, :]) @ self.proj

    def encode_text(self, ids, tprompts):  # MaPLe's TextEncoder with the prompt learner's prefix/suffix
        c, n = ids.shape[0], tprompts[0].shape[0]
        with torch.no_grad():
            emb = self.token_embedding(ids)
        x = torch.cat([emb[:, :1], tprompts[0].expand(c, -1, -1), emb[:, 1 + n:]], dim=1) + self.tpos
        x = x.permute(1, 0, 2)
        for i, blk in enumerate(self.tblocks):
            if 0 < i < len(tprompts):
                x = torch.cat([x[:1], tprompts[i].unsqueeze(1).expand(-1, c, -1), x[1 + n:]], dim=0)
            x = blk(x)
        x = self.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(c), ids.argmax(dim=-1)] @ self.text_projection


class MaPLe(nn.Module):
    def __init__(self, n, depth):
        super().__init__()
        self.text = nn.ParameterList([nn.Parameter(0.02 * torch.randn(n, DT)) for _ in range(depth)])
        self.proj = nn.ModuleList([nn.Linear(DT, DV) for _ in range(depth)])

    def forward(self):
        return list(self.text), [p(t) for p, t in zip(self.proj, self.text)]


class MmAP(nn.Module):
    def __init__(self, b, m, n, depth):
        super().__init__()
        self.source = nn.ParameterList([nn.Parameter(0.02 * torch.randn(m, n)) for _ in range(depth)])
        self.w_text = nn.ParameterList([nn.Parameter(torch.ones(b // m, DT // n)) for _ in range(depth)])
        self.w_vis = nn.ParameterList([nn.Parameter(torch.ones(b // m, DV // n)) for _ in range(depth)])

    def forward(self):
        return ([torch.kron(s, w) for s, w in zip(self.source, self.w_text)],
                [torch.kron(s, w) for s, w in zip(self.source, self.w_vis)])


def time_steps(step, steps):
    """One warm-up call of step(), then `steps` timed ones: the lines the C benches read."""
    step()
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        print(f"step_seconds {time.perf_counter() - t0:.4f}", flush=True)
    print(f"maxrss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", choices=["maple", "mmap"], required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--classes", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--depth", type=int, default=9)
    ap.add_argument("--mmap-m", type=int, default=4)
    ap.add_argument("--mmap-n", type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ids = torch.from_numpy(np.fromfile(a.ids, dtype="<i4").reshape(a.classes, CONTEXT).astype(np.int64))
    model = CLIP()
    for p in model.parameters():
        p.requires_grad_(False)
    if a.method == "maple":
        prompts = MaPLe(a.n or 2, a.depth)
    else:
        prompts = MmAP(a.n or 4, a.mmap_m, a.mmap_n, a.depth)
    pixels = torch.randn(a.batch, 3, IMAGE, IMAGE)
    labels = torch.randint(0, a.classes, (a.batch,))

    def step():
        text, visual = prompts()
        img = model.encode_image(pixels, visual)
        txt = model.encode_text(ids, text)
        img = img / img.norm(dim=-1, keepdim=True)
        txt = txt / txt.norm(dim=-1, keepdim=True)
        loss = nn.functional.cross_entropy(model.logit_scale.exp() * img @ txt.t(), labels)
        prompts.zero_grad(set_to_none=True)
        loss.backward()
        return loss.item()

    time_steps(step, a.steps)


if __name__ == "__main__":
    main()
