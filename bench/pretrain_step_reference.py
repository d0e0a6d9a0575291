#!/usr/bin/python3
"""PyTorch baseline of bench/bench_pretrain_step.c: one pretraining step of the fmnist-small CLIP
(both towers 128 wide, 4 layers, 2 heads; patch 4 on 28x28; embed 128) the way OpenAI's
clip/model.py and a CLIP training loop run it: nn.MultiheadAttention blocks, the text tower over
all 77 tokens, CLIP's symmetric contrastive loss over the batch, then torch's AdamW (CLIP's
betas 0.9/0.98 and eps 1e-6, weight decay on the matrices only; every row of the token embedding
updated, as torch does). One process, fp32, random weights and inputs (only the arithmetic
matters; each caption's EOT, its highest token id, sits at position 12).

  pretrain_step_reference.py [--batch 128] [--steps 3] [--threads 1]

--threads sets PyTorch's intra-op threads; its GEMMs go to OpenBLAS, whose threads
OPENBLAS_NUM_THREADS sets. After one warm-up step it prints one line per timed step,
`step_seconds <s>`, and `maxrss_mib <MiB>`.
"""
import argparse
import math

import torch
from torch import nn

from train_step_reference import Block, time_steps

WIDTH, LAYERS, EMBED, PATCH, IMAGE, CONTEXT, VOCAB, EOT_AT = 128, 4, 128, 4, 28, 77, 49408, 12


class PretrainCLIP(nn.Module):
    def __init__(self):
        super().__init__()
        s = WIDTH ** -0.5
        self.conv1 = nn.Conv2d(3, WIDTH, PATCH, PATCH, bias=False)
        self.class_embedding = nn.Parameter(s * torch.randn(WIDTH))
        self.vpos = nn.Parameter(s * torch.randn((IMAGE // PATCH) ** 2 + 1, WIDTH))
        self.ln_pre = nn.LayerNorm(WIDTH)
        self.vblocks = nn.Sequential(*[Block(WIDTH, None) for _ in range(LAYERS)])
        self.ln_post = nn.LayerNorm(WIDTH)
        self.proj = nn.Parameter(s * torch.randn(WIDTH, EMBED))
        self.token_embedding = nn.Embedding(VOCAB, WIDTH)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.tpos = nn.Parameter(0.01 * torch.randn(CONTEXT, WIDTH))
        mask = torch.full((CONTEXT, CONTEXT), float("-inf")).triu_(1)
        self.tblocks = nn.Sequential(*[Block(WIDTH, mask) for _ in range(LAYERS)])
        self.ln_final = nn.LayerNorm(WIDTH)
        self.text_projection = nn.Parameter(s * torch.randn(WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, pixels):
        b = pixels.shape[0]
        x = self.conv1(pixels).reshape(b, WIDTH, -1).permute(0, 2, 1)
        x = torch.cat([self.class_embedding + torch.zeros(b, 1, WIDTH), x], dim=1) + self.vpos
        x = self.vblocks(self.ln_pre(x).permute(1, 0, 2))
        return self.ln_post(x.permute(1, 0, 2)[:, 0, :]) @ self.proj

    def encode_text(self, ids):
        x = self.tblocks((self.token_embedding(ids) + self.tpos).permute(1, 0, 2))
        x = self.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(ids.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = PretrainCLIP()
    groups = {True: [], False: []}  # decayed: the matrices, not the embeddings
    for n, p in model.named_parameters():
        groups[p.ndim >= 2 and "embedding" not in n and "pos" not in n].append(p)
    opt = torch.optim.AdamW([{"params": groups[True], "weight_decay": 0.1}, {"params": groups[False], "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.98), eps=1e-6)
    pixels = torch.randn(a.batch, 3, IMAGE, IMAGE)
    ids = torch.zeros(a.batch, CONTEXT, dtype=torch.long)
    ids[:, 0] = VOCAB - 2                                      # start of text
    ids[:, 1:EOT_AT] = torch.randint(256, 40000, (a.batch, EOT_AT - 1))
    ids[:, EOT_AT] = VOCAB - 1                                 # end of text
    target = torch.arange(a.batch)

    def step():
        img = model.encode_image(pixels)
        txt = model.encode_text(ids)
        img = img / img.norm(dim=-1, keepdim=True)
        txt = txt / txt.norm(dim=-1, keepdim=True)
        logits = model.logit_scale.exp() * img @ txt.t()
        loss = 0.5 * (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.t(), target))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(max=math.log(100))
        return loss.item()

    time_steps(step, a.steps)


if __name__ == "__main__":
    main()
