#!/usr/bin/python3
"""Reference values for cm_task_step (tests/train/test_train_step.c).

A tiny CLIP built from the blocks of clip_reference.py (OpenAI's pre-LN residual block with
nn.MultiheadAttention and QuickGELU), and every prompt method written as a PyTorch module the
way the MaPLe repository's trainers build it (spec.md 2.1-2.6, 3.3):

  coop   learned context [n,Dt] in token rows 1..n, layer 0 only
  vpt    visual prompts per layer: appended before ln_pre, then replacing the last n rows
  ivlp   independent deep text and visual prompts (here with different n and depth per tower)
  maple  text prompts per layer, visual prompt = Linear_j(text prompt_j) (Dt -> Dv, with bias)
  mmap   per layer (or one shared) source P_s [m,nn]; text = kron(P_s, W_l), visual = kron(P_s, W_v)

One batch of 4 images and 5 classes: the class sentences run all 77 tokens, as the original
repositories do. Everything is fp32; the loss is the mean cross-entropy over the batch and the
gradient of every trainable tensor comes from autograd.

The parameters are drawn here and written in the order of the C tensor table of a CM_SET_SHARED
prompt set (names "shared.<method>...", include/clipmtl/prompt_method.h); the C test reads them,
checks names and sizes against its own table, runs cm_task_step and compares.

  vision width 48, 3 layers, 2 heads, patch 8 @ 32 px (17 tokens)
  text   width 32, 3 layers, 2 heads, context 77, vocabulary 100 (SOS 98, EOT 99)
  embed  16. The widths differ (3:2 as in ViT-B/16) so that no text/visual shape can be swapped.

Written under tests/fixtures/train_step/ (raw little-endian):
  weights.f32       every CLIP tensor in cm_clip_layout order (src/clip/clip_model.c)
  pixels.f32        [4,3,32,32];  labels.i32 [4]
  <case>.ids.i32    [5,77] the class sentences of the method (SOS, prompt slots, words, EOT)
  <case>.tensors.txt  one line per trainable tensor: name and element count, in table order
  <case>.params.f32   the parameters, concatenated in that order
  <case>.grads.f32    d(mean loss)/d(parameters), same order
  <case>.loss.f64     the mean loss and the number of images whose arg-max logit is the label
Run with Debian's /usr/bin/python3 (python3-torch 1.13): `make fixtures`.
"""
import math
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import ResidualAttentionBlock  # noqa: E402  (OpenAI's block, fp32)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "train_step")

DV, LV, HV, PATCH, IMAGE = 48, 3, 2, 8, 32
DT, LT, HT, CONTEXT, VOCAB = 32, 3, 2, 77, 100
EMBED = 16
SOS, EOT = VOCAB - 2, VOCAB - 1
B, C = 4, 5
LABELS = [3, 0, 4, 1]


class Tower(nn.Module):
    """Blocks with deep prompts: before block i in 1..depth-1, `insert(x, prompts[i])`."""

    def __init__(self, d, layers, heads, causal):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(d, heads, causal) for _ in range(layers)])

    def forward(self, x, deep, insert):  # x [T,B,D]
        for i, block in enumerate(self.resblocks):
            if deep is not None and 0 < i < len(deep):
                x = insert(x, deep[i])
            x = block(x)
        return x


class TinyCLIP(nn.Module):
    def __init__(self):
        super().__init__()
        grid = IMAGE // PATCH
        self.conv1 = nn.Conv2d(3, DV, kernel_size=PATCH, stride=PATCH, bias=False)
        self.class_embedding = nn.Parameter(DV ** -0.5 * torch.randn(DV))
        self.vpos = nn.Parameter(DV ** -0.5 * torch.randn(grid * grid + 1, DV))
        self.ln_pre = nn.LayerNorm(DV)
        self.visual = Tower(DV, LV, HV, causal=False)
        self.ln_post = nn.LayerNorm(DV)
        self.proj = nn.Parameter(DV ** -0.5 * torch.randn(DV, EMBED))
        self.token_embedding = nn.Embedding(VOCAB, DT)
        self.tpos = nn.Parameter(0.1 * torch.randn(CONTEXT, DT))
        self.text = Tower(DT, LT, HT, causal=True)
        self.ln_final = nn.LayerNorm(DT)
        self.text_projection = nn.Parameter(DT ** -0.5 * torch.randn(DT, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        with torch.no_grad():  # no tensor left at a value that would hide a swapped weight/bias
            for name, p in self.named_parameters():
                if "ln_" in name and name.endswith("weight"):
                    p.copy_(1.0 + 0.2 * torch.randn_like(p))
                elif name.endswith("bias"):
                    p.copy_(0.1 * torch.randn_like(p))

    def layout(self):
        """The tensors in cm_clip_layout order."""
        blocks = lambda tower: [t for blk in tower.resblocks for t in (
            blk.ln_1.weight, blk.ln_1.bias, blk.attn.in_proj_weight, blk.attn.in_proj_bias,
            blk.attn.out_proj.weight, blk.attn.out_proj.bias, blk.ln_2.weight, blk.ln_2.bias,
            blk.mlp.c_fc.weight, blk.mlp.c_fc.bias, blk.mlp.c_proj.weight, blk.mlp.c_proj.bias)]
        tensors = [self.conv1.weight, self.class_embedding, self.vpos, self.ln_pre.weight, self.ln_pre.bias]
        tensors += blocks(self.visual) + [self.ln_post.weight, self.ln_post.bias, self.proj,
                                          self.token_embedding.weight, self.tpos]
        tensors += blocks(self.text) + [self.ln_final.weight, self.ln_final.bias, self.text_projection,
                                        self.logit_scale]
        assert len({id(t) for t in tensors}) == len(list(self.parameters()))
        return tensors

    def encode_image(self, pixels, vprompts):
        """vprompts: list of [n,DV] per prompted layer, or None (spec.md 2.1, visual)."""
        b = pixels.shape[0]
        x = self.conv1(pixels).reshape(b, DV, -1).permute(0, 2, 1)
        x = torch.cat([self.class_embedding + torch.zeros(b, 1, DV), x], dim=1) + self.vpos
        if vprompts is not None:  # appended after the positional embedding, before ln_pre
            x = torch.cat([x, vprompts[0].expand(b, -1, -1)], dim=1)
        x = self.ln_pre(x).permute(1, 0, 2)

        def replace_last(x, p):  # drop the previous prompts' outputs, append this layer's
            return torch.cat([x[:-p.shape[0]], p.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=0)

        x = self.visual(x, vprompts, replace_last).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj

    def encode_text(self, ids, tprompts):
        """tprompts: list of [n,DT] per prompted layer, or None (spec.md 2.1, text)."""
        x = self.token_embedding(ids)
        if tprompts is not None:  # prefix (SOS) | ctx | suffix, positional embedding on all rows
            n = tprompts[0].shape[0]
            x = torch.cat([x[:, :1], tprompts[0].expand(x.shape[0], -1, -1), x[:, 1 + n:]], dim=1)
        x = (x + self.tpos).permute(1, 0, 2)

        def replace_after_sos(x, p):
            n = p.shape[0]
            return torch.cat([x[:1], p.unsqueeze(1).expand(-1, x.shape[1], -1), x[1 + n:]], dim=0)

        x = self.text(x, tprompts, replace_after_sos).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


# ---- prompt methods: each returns (text prompts or None, visual prompts or None) -------------
# `tensors` lists (C table name, parameter) in the C table order.

def normal(*shape, std=0.5):
    return nn.Parameter(std * torch.randn(*shape))


class DirectPrompts(nn.Module):
    """CoOp (text, depth 1), VPT-deep (visual), IVLP (both, independent)."""

    def __init__(self, name, n_text, depth_text, n_visual, depth_visual):
        super().__init__()
        self.text = nn.ParameterList([normal(n_text, DT) for _ in range(depth_text)])
        self.vis = nn.ParameterList([normal(n_visual, DV) for _ in range(depth_visual)])
        self.tensors = [(f"{name}.text.{j}", p) for j, p in enumerate(self.text)]
        self.tensors += [(f"{name}.visual.{j}", p) for j, p in enumerate(self.vis)]

    def forward(self):
        return (list(self.text) or None), (list(self.vis) or None)


class MaPLe(nn.Module):
    """trainers/maple.py MultiModalPromptLearner: ctx and compound text prompts, each mapped to
    the visual side by its own nn.Linear(DT, DV)."""

    def __init__(self, n, depth):
        super().__init__()
        self.text = nn.ParameterList([normal(n, DT) for _ in range(depth)])
        self.proj = nn.ModuleList([nn.Linear(DT, DV) for _ in range(depth)])
        self.tensors = [(f"maple.text.{j}", p) for j, p in enumerate(self.text)]
        for j, lin in enumerate(self.proj):
            self.tensors += [(f"maple.proj.{j}.weight", lin.weight), (f"maple.proj.{j}.bias", lin.bias)]

    def forward(self):
        return list(self.text), [lin(t) for lin, t in zip(self.proj, self.text)]


class MmAP(nn.Module):
    """spec.md 3.3: P_l = kron(P_s, W_l), P_v = kron(P_s, W_v) per prompted layer."""

    def __init__(self, b, m, nn_cols, depth, shared_source):
        super().__init__()
        rows = b // m
        self.shared = shared_source
        self.source = nn.ParameterList([normal(m, nn_cols) for _ in range(1 if shared_source else depth)])
        self.w_text = nn.ParameterList([normal(rows, DT // nn_cols, std=1.0) for _ in range(depth)])
        self.w_vis = nn.ParameterList([normal(rows, DV // nn_cols, std=1.0) for _ in range(depth)])
        self.tensors = [("mmap.source", self.source[0])] if shared_source else []
        for j in range(depth):
            if not shared_source:
                self.tensors.append((f"mmap.source.{j}", self.source[j]))
            self.tensors += [(f"mmap.w_text.{j}", self.w_text[j]), (f"mmap.w_visual.{j}", self.w_vis[j])]

    def forward(self):
        src = lambda j: self.source[0 if self.shared else j]
        depth = len(self.w_text)
        return ([torch.kron(src(j), self.w_text[j]) for j in range(depth)],
                [torch.kron(src(j), self.w_vis[j]) for j in range(depth)])


class ZeroShot(nn.Module):
    tensors = []

    def forward(self):
        return None, None


# name: (module factory, number of prompt slots after SOS in the sentence)
CASES = {
    "zeroshot": (lambda: ZeroShot(), 4),  # "a photo of a {class}."
    "coop": (lambda: DirectPrompts("coop", 4, 1, 0, 0), 4),
    "vpt": (lambda: DirectPrompts("vpt", 0, 0, 2, 2), 4),
    "ivlp": (lambda: DirectPrompts("ivlp", 2, 3, 3, 2), 2),
    "maple": (lambda: MaPLe(2, 2), 4),  # "a photo of a" with n = 2: "of a" stay fixed words
    "mmap": (lambda: MmAP(4, 2, 16, 2, False), 4),
    "mmap_shared": (lambda: MmAP(4, 2, 16, 3, True), 4),
}


def class_sentences(slots):
    """[C,77]: SOS, `slots` fixed context words, 1-3 class words, '.', EOT, zero padding. The
    ids are random words of the tiny vocabulary; the prompt rows overwrite slots 1..n."""
    ids = torch.zeros(C, CONTEXT, dtype=torch.long)
    context = torch.randint(1, SOS, (slots,))
    for c in range(C):
        words = torch.randint(1, SOS, (1 + c % 3,))
        row = [SOS] + context.tolist() + words.tolist() + [7, EOT]
        ids[c, :len(row)] = torch.tensor(row)
    return ids


def save(name, array):
    array.tofile(os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    torch.set_num_threads(1)
    model = TinyCLIP()
    for p in model.parameters():
        p.requires_grad_(False)
    save("weights.f32", torch.cat([t.reshape(-1) for t in model.layout()]).numpy().astype("<f4"))
    pixels = torch.randn(B, 3, IMAGE, IMAGE)
    labels = torch.tensor(LABELS)
    save("pixels.f32", pixels.numpy().astype("<f4"))
    save("labels.i32", labels.numpy().astype("<i4"))

    for case, (factory, slots) in CASES.items():
        method = factory()
        ids = class_sentences(slots)
        text, visual = method()
        logits_scale = model.logit_scale.exp()
        img = model.encode_image(pixels, visual)
        txt = model.encode_text(ids, text)
        img = img / img.norm(dim=-1, keepdim=True)
        txt = txt / txt.norm(dim=-1, keepdim=True)
        logits = logits_scale * img @ txt.t()
        loss = nn.functional.cross_entropy(logits, labels)
        correct = int((logits.argmax(dim=1) == labels).sum())
        if method.tensors:
            loss.backward()
        save(f"{case}.ids.i32", ids.numpy().astype("<i4"))
        with open(os.path.join(OUT, f"{case}.tensors.txt"), "w") as f:
            for name, p in method.tensors:
                f.write(f"shared.{name} {p.numel()}\n")
        flat = lambda ts: np.concatenate([t.detach().reshape(-1).numpy() for t in ts] or [np.zeros(0)])
        save(f"{case}.params.f32", flat([p for _, p in method.tensors]).astype("<f4"))
        save(f"{case}.grads.f32", flat([p.grad for _, p in method.tensors]).astype("<f4"))
        save(f"{case}.loss.f64", np.array([loss.item(), correct], dtype="<f8"))
        print(f"{case}: loss {loss.item():.6f}, {correct}/{B} correct, "
              f"{sum(p.numel() for _, p in method.tensors)} parameters")


if __name__ == "__main__":
    main()
